# ruff: noqa: RUF001  (real text in many scripts: its letters are meant)
"""Search queries for the load test: short questions people might ask of the UDHR corpus.

Written for the benchmark in many languages and scripts, so they are not passages of the
corpus (a query that is a stored passage verbatim would make the search trivially easy).
"""

from __future__ import annotations

# (UDHR language code of the query, query text)
QUERIES: tuple[tuple[str, str], ...] = (
    ("eng", "Can anyone be held as a slave?"),
    ("eng", "Who has the right to an education?"),
    ("eng", "May I leave my own country and come back?"),
    ("eng", "freedom to join a trade union"),
    ("fra", "A-t-on le droit de changer de religion ?"),
    ("fra", "protection contre la torture"),
    ("swh", "Je, kila mtu ana haki ya kupata elimu?"),
    ("spa", "¿Tengo derecho a descansar y a vacaciones pagadas?"),
    ("spa", "igualdad ante la ley sin discriminación"),
    ("deu_1996", "Darf man mich ohne Grund verhaften?"),
    ("deu_1996", "Recht auf eine Staatsangehörigkeit"),
    ("por_BR", "Todos podem pedir asilo em outro país?"),
    ("ita", "diritto di sposarsi e fondare una famiglia"),
    ("rus", "Может ли человек свободно выражать своё мнение?"),
    ("rus", "право на справедливый суд"),
    ("ukr", "право власності на майно"),
    ("pol", "Czy każdy ma prawo do pracy?"),
    ("tur", "Herkesin dinlenme hakkı var mı?"),
    ("arb", "هل لكل شخص الحق في الحياة والحرية؟"),
    ("pes_1", "حق شرکت در انتخابات آزاد"),
    ("heb", "האם מותר לענות בני אדם?"),
    ("hin", "क्या हर व्यक्ति को शिक्षा का अधिकार है?"),
    ("urd", "قانون کے سامنے سب برابر ہیں"),
    ("ben", "ধর্মের স্বাধীনতা"),
    ("tam", "சிந்தனை சுதந்திரம்"),
    ("cmn_hans", "每个人都有受教育的权利吗？"),
    ("cmn_hans", "禁止奴隶制度"),
    ("jpn", "拷問を受けない権利"),
    ("kor", "모든 사람은 법 앞에 평등한가?"),
    ("vie", "quyền tự do đi lại trong nước"),
    ("tha", "สิทธิในการมีงานทำ"),
    ("ind", "hak atas kebebasan berpendapat"),
    ("yor", "ẹ̀tọ́ sí ìgbéyàwó"),
    ("hau_NG", "'yancin yin addini"),
    ("zul", "ilungelo lokuphila"),
    ("amh", "የመማር መብት"),
    ("nya_chechewa", "ufulu wopembedza"),
    ("khm", "សិទ្ធិទទួលបានការអប់រំ"),
)
