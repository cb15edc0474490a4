"""`python -m models distill --recipe FILE`: the training loop, its checkpoints and resume.

The batch at step s is a pure function of (seed, s), so a run resumed from a checkpoint sees
the same batches as one that never stopped. Checkpoints are written beside and renamed into
place, so an interruption never leaves a torn one.
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm
from transformers import BertModel

from indexer.registry import DEFAULT_CACHE
from models.build import HF_DIR, TOKENIZER_FILE
from models.distill.encoding import (
    Encoded,
    bf16_autocast,
    encode_by_length,
    load_tokenizer,
    training_device,
)
from models.distill.mix import DataMix, build_mix
from models.distill.objective import hybrid_batch_loss, mse_loss, token_loss
from models.distill.recipe import Recipe
from models.distill.student import layer_selection, load_student
from models.distill.teacher import teacher_targets

DEFAULT_WORK = Path(".cache/distill")
CHECKPOINT = "checkpoint.pt"


@dataclass
class RunState:
    """What a checkpoint restores besides the weights: the step and the loss history."""

    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0


@dataclass(frozen=True)
class DistillResult:
    student: BertModel
    layers: list[int]
    mix: DataMix
    state: RunState
    work_dir: Path


def batch_indices(size: int, batch: int, seed: int, step: int) -> list[int]:
    """Rows of step `step`: consecutive slices of per-epoch permutations of range(size)."""
    rows: list[int] = []
    position = step * batch
    while len(rows) < batch:
        epoch, offset = divmod(position, size)
        order = list(range(size))
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
        take = order[offset : offset + batch - len(rows)]
        rows.extend(take)
        position += len(take)
    return rows


def _schedule(recipe: Recipe) -> Any:
    warmup, total = recipe.train.warmup_steps, recipe.train.steps

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def _save_checkpoint(
    path: Path, student: BertModel, optimizer: Any, sched: Any, state: RunState
) -> None:
    partial = path.with_name(path.name + ".partial")
    torch.save(
        {
            "student": _trainable_state(student),
            "optimizer": optimizer.state_dict(),
            "scheduler": sched.state_dict(),
            "step": state.step,
            "history": state.history,
            "train_seconds": state.train_seconds,
        },
        partial,
    )
    partial.replace(path)


def _trainable_state(student: BertModel) -> dict[str, torch.Tensor]:
    """Only what training changes: frozen tables come back from the init checkpoint."""
    return {name: p.detach() for name, p in student.named_parameters() if p.requires_grad}


def _load_checkpoint(path: Path, student: BertModel, optimizer: Any, sched: Any) -> RunState:
    saved = torch.load(path, weights_only=True, map_location=student.device)
    student.load_state_dict(saved["student"], strict=False)
    optimizer.load_state_dict(saved["optimizer"])
    sched.load_state_dict(saved["scheduler"])
    return RunState(int(saved["step"]), list(saved["history"]), float(saved["train_seconds"]))


def _log(
    bar: tqdm[Any], state: RunState, total: int, losses: dict[str, float], texts_per_s: float
) -> None:
    parts = " ".join(f"{k} {v:.5g}" for k, v in losses.items())
    bar.write(f"step {state.step}/{total} {parts} {texts_per_s:.0f} texts/s", file=sys.stderr)
    bar.set_postfix(loss=f"{losses['loss']:.4g}", texts_per_s=f"{texts_per_s:.0f}")


def require_built_models(recipe: Recipe) -> None:
    """The model folders a recipe starts from (its init; its teacher, for an e5 teacher that
    trains) must be built: a clear error here, not transformers' hub lookup of a missing path."""
    needed = {"student.init": Path(recipe.student.init) / HF_DIR}
    if recipe.teacher.kind == "e5" and recipe.train.steps:
        needed["teacher.path"] = Path(recipe.teacher.path)
    for field_name, hf_dir in needed.items():
        if not (hf_dir / "config.json").is_file():
            model = hf_dir.parent.name if hf_dir.name == HF_DIR else hf_dir.name
            raise FileNotFoundError(
                f"{field_name}: no model in {hf_dir}; build it first: `python -m models build` "
                f"(the packaged model and the released students) or `python -m models distill "
                f"--recipe recipes/{model}.toml`"
            )


def distill(
    recipe: Recipe,
    work_root: Path = DEFAULT_WORK,
    package_cache: Path = DEFAULT_CACHE,
    stop_after: int | None = None,
    max_minutes: float | None = None,
) -> DistillResult:
    """Train (or resume) the recipe's student on the GPU where there is one. `stop_after` (a
    step) and `max_minutes` (this run's wall time) end early as an interruption would: the
    checkpoint is saved and the next run resumes from it."""
    require_built_models(recipe)
    train = recipe.train
    work_dir = work_root / f"{recipe.name}-{recipe.training_fingerprint}"
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "recipe.json").write_text(json.dumps(recipe.to_dict(), indent=2) + "\n")
    torch.manual_seed(recipe.seed)
    # `steps = 0` exports the pruned student as initialised (a size-study row): no data, no
    # teacher.
    mix = build_mix(recipe.data, recipe.seed, package_cache) if train.steps else DataMix([], [])
    print(f"data mix: {len(mix.pairs)} pairs", file=sys.stderr, flush=True)
    targets = _teacher_targets(recipe, mix, work_root, package_cache) if train.steps else None
    init = Path(recipe.student.init)
    layers = layer_selection(recipe.student.layers, _layer_count(init))
    device = training_device()
    student = load_student(init, layers, recipe.student.dropout)
    student.to(device)  # type: ignore[arg-type]
    if targets is not None:
        targets = targets.to(device)
    if recipe.student.freeze_embeddings:
        student.embeddings.word_embeddings.weight.requires_grad_(False)
    token_teacher = _token_teacher(recipe, student) if train.token_weight > 0 else None
    trainable = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=train.learning_rate)
    sched = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(recipe))
    checkpoint = work_dir / CHECKPOINT
    state = RunState()
    if checkpoint.is_file():
        state = _load_checkpoint(checkpoint, student, optimizer, sched)
        print(f"resumed from {checkpoint} at step {state.step}", file=sys.stderr, flush=True)
    tokenizer = load_tokenizer(init / TOKENIZER_FILE, train.max_seq_len)
    student.train()
    window: list[dict[str, float]] = []
    window_start = run_start = time.perf_counter()
    deadline = run_start + 60 * max_minutes if max_minutes is not None else float("inf")
    bar = tqdm(
        total=train.steps, initial=state.step, unit="step", desc=recipe.name, file=sys.stderr
    )
    while (
        state.step < train.steps
        and (stop_after is None or state.step < stop_after)
        and time.perf_counter() < deadline
    ):
        started = time.perf_counter()
        rows = batch_indices(len(mix.pairs), train.batch_size, recipe.seed, state.step)
        pairs = [mix.pairs[i] for i in rows]
        prefixes = [mix.prefixes[i] for i in rows]
        encoded = encode_by_length(
            student,
            tokenizer,
            [p + x.en for p, x in zip(prefixes, pairs, strict=True)]
            + [p + x.xx for p, x in zip(prefixes, pairs, strict=True)],
            train.bf16,
        )
        student_en, student_xx = encoded.vectors[: len(rows)], encoded.vectors[len(rows) :]
        assert targets is not None  # steps > 0 here
        loss = mse_loss(student_en, student_xx, targets[rows])
        losses = {"mse": loss.item()}
        if train.contrastive_weight > 0:
            english = [x.en for x in pairs]
            same = torch.tensor([[a == b for b in english] for a in english], device=device)
            contrastive = hybrid_batch_loss(
                student_en, student_xx, same, train.contrastive_temperature
            )
            loss = loss + train.contrastive_weight * contrastive
            losses["contrastive"] = contrastive.item()
        if token_teacher is not None:
            tokens = _translated_token_loss(token_teacher, encoded, len(rows), train.bf16)
            loss = loss + train.token_weight * tokens
            losses["tokens"] = tokens.item()
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        sched.step()
        state.step += 1
        state.train_seconds += time.perf_counter() - started
        bar.update()
        window.append({"loss": loss.item(), **losses})
        if state.step % train.log_every == 0 or state.step == train.steps:
            mean = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
            speed = 2 * train.batch_size * len(window) / (time.perf_counter() - window_start)
            state.history.append({"step": state.step, **mean, "texts_per_s": speed})
            _log(bar, state, train.steps, mean, speed)
            window, window_start = [], time.perf_counter()
        if state.step % train.checkpoint_every == 0 or state.step == train.steps:
            _save_checkpoint(checkpoint, student, optimizer, sched, state)
    bar.close()
    if state.step % train.checkpoint_every:  # stopped between checkpoints
        _save_checkpoint(checkpoint, student, optimizer, sched, state)
    student.eval()  # type: ignore[no-untyped-call]
    return DistillResult(student, layers, mix, state, work_dir)


def _token_teacher(recipe: Recipe, student: BertModel) -> BertModel:
    """The e5 teacher (`Recipe` checks the kind) whose last hidden states the student follows
    token by token: it must share the student's vocabulary and width."""
    teacher = BertModel.from_pretrained(recipe.teacher.path, add_pooling_layer=False)
    for name in ("vocab_size", "hidden_size"):
        if getattr(teacher.config, name) != getattr(student.config, name):
            raise ValueError(f"train.token_weight: teacher and student differ in {name}")
    teacher.to(student.device)  # type: ignore[arg-type]
    teacher.eval()  # type: ignore[no-untyped-call]
    teacher.requires_grad_(False)
    return teacher


def _translated_token_loss(
    teacher: BertModel, encoded: Encoded, first_translated: int, bf16: bool
) -> torch.Tensor:
    """`token_loss` over the translated texts (rows from `first_translated` on) of a student
    pass: the teacher reads the same token ids, so the positions line up."""
    terms, tokens = [], []
    for batch, states in zip(encoded.batches, encoded.states, strict=True):
        picked = [i for i, row in enumerate(batch.rows) if row >= first_translated]
        if not picked:
            continue
        ids, mask = batch.ids[picked].to(teacher.device), batch.mask[picked].to(teacher.device)
        with torch.no_grad(), bf16_autocast(bf16, teacher.device):
            target = teacher(input_ids=ids, attention_mask=mask).last_hidden_state
        terms.append(token_loss(states[picked], target, mask) * mask.sum())
        tokens.append(mask.sum())
    return torch.stack(terms).sum() / torch.stack(tokens).sum()


def _teacher_targets(
    recipe: Recipe, mix: DataMix, work_root: Path, package_cache: Path
) -> torch.Tensor:
    return torch.from_numpy(
        teacher_targets(
            recipe.teacher,
            [p.en for p in mix.pairs],
            mix.prefixes,
            recipe.train.max_seq_len,
            work_root / "teacher",
            package_cache,
            init_hf=Path(recipe.student.init) / HF_DIR,
            bf16=recipe.train.bf16,
        )
    )


def _layer_count(init: Path) -> int:
    config = json.loads((init / HF_DIR / "config.json").read_text())
    return int(config["num_hidden_layers"])
