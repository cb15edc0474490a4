"""multilingual-e5-small in PyTorch, each distinct text encoded once per prefix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from models.crosscheck.common import MODEL_DIR

MAX_TOKENS = 512


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str], prefix: str) -> Any:
        """A (len(texts), dim) float32 torch tensor of unit vectors for `prefix + text`."""
        ...


class E5Encoder:
    """Mean of the last hidden state over the attention mask, L2-normalised. Vectors are kept
    by (prefix, text): the pool re-uses the UDHR task's, and equal texts get equal vectors."""

    def __init__(
        self,
        model_dir: Path = MODEL_DIR,
        batch_size: int = 16,
        threads: int | None = None,
        progress: bool = False,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir))
        # BertModel's pooler is not in the checkpoint and not used: leave it out.
        model, info = AutoModel.from_pretrained(
            str(model_dir), add_pooling_layer=False, output_loading_info=True
        )
        problems = {key: sorted(keys) for key, keys in info.items() if keys}
        if problems:
            raise ValueError(f"{model_dir}: the checkpoint does not fit the model: {problems}")
        self.model: Any = model.eval()
        self.batch_size = batch_size
        self.progress = progress
        self.encoded = 0  # texts that went through the model
        self._vectors: dict[tuple[str, str], Any] = {}

    def encode(self, texts: Sequence[str], prefix: str) -> Any:
        """A (len(texts), dim) float32 tensor of unit vectors for `prefix + text`."""
        new = [t for t in dict.fromkeys(texts) if (prefix, t) not in self._vectors]
        if new:
            vectors = self._run([prefix + text for text in new])
            self._vectors.update({(prefix, text): vectors[i] for i, text in enumerate(new)})
            self.encoded += len(new)
        if not texts:
            return self._torch.empty((0, self.model.config.hidden_size))
        return self._torch.stack([self._vectors[(prefix, text)] for text in texts])

    def _run(self, inputs: Sequence[str]) -> Any:
        from tqdm import tqdm

        torch = self._torch
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))  # less padding
        out = torch.empty((len(inputs), self.model.config.hidden_size), dtype=torch.float32)
        with torch.inference_mode():
            starts = range(0, len(order), self.batch_size)
            quiet = not self.progress or len(starts) < 10
            for start in tqdm(starts, desc="encode", unit="batch", disable=quiet, leave=False):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [inputs[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self.model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                out[rows] = torch.nn.functional.normalize(mean, p=2.0, dim=-1)
        return out
