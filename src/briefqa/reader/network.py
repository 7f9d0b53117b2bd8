"""The reader as a torch module: the base model's first layers, a pair head and a span head.

Imported only by training (``training/fit_reader.py``) and by the ONNX export (``export``);
serving never imports torch. What ships is every fitted weight but the word-piece table, which
training keeps frozen at the base model's values (11.7M of its 22.7M numbers): the package holds
the fitted layers once, and the export joins them to the installed base model's table again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

# The one frozen tensor: the base model's own, not shipped.
FROZEN = "bert.embeddings.word_embeddings.weight"


class ReaderNetwork(torch.nn.Module):
    """``[CLS] question [SEP] sentence [SEP]`` -> (relevance, answers) logits and per-piece
    (start, end) logits."""

    def __init__(self, bert: Any) -> None:
        super().__init__()
        self.bert = bert
        hidden = bert.config.hidden_size
        self.pair = torch.nn.Linear(hidden, 2)
        self.span = torch.nn.Linear(hidden, 2)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        # Mean over the pair's pieces, as the base model pools: its fitted layers start out
        # making that mean meaningful.
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return self.pair(pooled), self.span(hidden)


def base_network(base_folder: Path, layers: int) -> ReaderNetwork:
    """A new reader over the first ``layers`` layers of the model in ``base_folder``, its
    word-piece table frozen."""
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(base_folder))
    bert.encoder.layer = bert.encoder.layer[:layers]
    bert.config.num_hidden_layers = layers
    # The pooler is not used; without it the export holds no dead weights.
    bert.pooler = None
    network = ReaderNetwork(bert)
    network.get_parameter(FROZEN).requires_grad_(False)
    return network


def shipped_state(network: ReaderNetwork) -> dict[str, torch.Tensor]:
    """What the package holds of a fitted reader: every tensor but the frozen table, in float16."""
    return {k: v.detach().to(torch.float16).contiguous() for k, v in network.state_dict().items() if k != FROZEN}


def load_shipped(weights: Path, base_folder: Path, layers: int) -> ReaderNetwork:
    """The shipped reader: ``weights`` (``shipped_state``'s) over the base model's table."""
    from safetensors.torch import load_file

    network = base_network(base_folder, layers)
    state = {k: v.to(torch.float32) for k, v in load_file(str(weights)).items()}
    missing, unexpected = network.load_state_dict(state, strict=False)
    if set(missing) != {FROZEN} or unexpected:
        raise ValueError(f"{weights}: not this reader's weights (missing {missing}, unexpected {unexpected})")
    return network.eval()
