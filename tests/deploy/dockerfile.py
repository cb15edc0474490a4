"""A small Dockerfile reader for the deploy tests: stages, instructions, flags, ENV values.

No Docker engine runs here, so the image cannot be built in the tests; instead they read the
Dockerfile the way the builder would (continuation lines, comments, stages, `ARG` defaults in
`FROM`) and check what the stages do.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_ARG_REF = re.compile(r"\$\{(\w+)(?::-[^}]*)?\}|\$(\w+)")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, e.g. "RUN"
    value: str  # the rest of the instruction, continuation lines joined
    line: int  # 1-based line where it starts

    def words(self) -> list[str]:
        """The value split like a shell would (exec-form JSON arrays are kept as one word)."""
        return shlex.split(self.value, comments=False, posix=True)

    def flags(self) -> dict[str, str]:
        """Leading `--name=value` flags, e.g. COPY --from=builder."""
        found: dict[str, str] = {}
        for word in self.words():
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            found[name] = value
        return found

    def arguments(self) -> list[str]:
        """The words after the flags; for exec form (a JSON array) its items."""
        rest = self.value
        for word in self.flags():
            rest = re.sub(rf"^\s*--{re.escape(word)}(=\S*)?", "", rest)
        rest = rest.strip()
        if rest.startswith("["):
            items = json.loads(rest)
            assert isinstance(items, list)
            return [str(item) for item in items]
        return shlex.split(rest)


@dataclass
class Stage:
    index: int
    base: str  # image or earlier stage name, ARG defaults substituted
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """Variables set by this stage's ENV instructions (later ones win)."""
        values: dict[str, str] = {}
        for instruction in self.of("ENV"):
            words = instruction.words()
            if words and "=" not in words[0]:  # legacy form: ENV KEY value with spaces
                values[words[0]] = " ".join(words[1:])
                continue
            for word in words:
                key, _, value = word.partition("=")
                values[key] = value
        return values


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, ref: str) -> Stage:
        """A stage by name or by index, as `COPY --from=` and `FROM` may refer to it."""
        for stage in self.stages:
            if stage.name == ref or str(stage.index) == ref:
                return stage
        raise KeyError(f"no stage {ref!r}; stages: {[s.name for s in self.stages]}")

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the stages it is built FROM, nearest first."""
        chain = [stage]
        names = {s.name for s in self.stages[: stage.index] if s.name}
        while chain[-1].base in names:
            parent = self.stage(chain[-1].base)
            names.discard(parent.name)
            chain.append(parent)
        return chain


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Instructions with their continuation lines joined; comments and blanks dropped."""
    lines: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if parts and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are skipped by the parser
        if not parts:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        lines.append((start, " ".join(p for p in parts if p)))
        parts = []
    if parts:
        lines.append((start, " ".join(parts)))
    return lines


def substitute_args(value: str, args: dict[str, str]) -> str:
    """Replace $NAME / ${NAME} by the ARG defaults known at that point."""
    return _ARG_REF.sub(lambda m: args.get(m.group(1) or m.group(2), m.group(0)), value)


def parse(path: Path) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line, text in _logical_lines(path.read_text(encoding="utf-8")):
        keyword, _, value = text.partition(" ")
        instruction = Instruction(keyword.upper(), value.strip(), line)
        if instruction.keyword == "FROM":
            words = [w for w in instruction.words() if not w.startswith("--platform")]
            base = substitute_args(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(index=len(stages), base=base, name=name))
        elif not stages and instruction.keyword == "ARG":
            key, _, default = instruction.value.partition("=")
            global_args[key.strip()] = default.strip()
        elif stages:
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args, stages)
