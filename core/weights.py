"""What a model's weights weigh in each quantization, tensor by tensor and layer by layer.

The replay in `core.quant_rules` decides one tensor at a time. A 70B model has
~720 tensors and the planner shows ~23 quantizations, so deciding every tensor
for every row would cost more than the whole table is allowed to. Instead the
tensors are grouped once per model into buckets whose members provably get
the same type (same role, row length and source type, and the same answers to
every layer-index test the rules make), and each bucket is decided once per
quantization. `tensor_types` still walks every tensor, for comparison with
`llama-quantize --dry-run`; the tests check both paths agree.
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from dataclasses import dataclass

from core.errors import PlannerError
from core.ggml_types import GGML_TYPES
from core.models import ModelFacts
from core.quant_rules import (
    Category,
    ModelShape,
    RuleInputs,
    TensorChoice,
    TensorSlot,
    build_slots,
    choose_type,
)
from core.quants import QuantFormat, quant_format

GGUF_ALIGNMENT = 32  # general.alignment default: each tensor's data starts on a multiple of it

# Tensors llama.cpp keeps with the input layer, always in system memory (dev_input is the CPU).
_INPUT_TENSORS = frozenset(
    {"token_embd.weight", "per_layer_token_embd.weight", "position_embd.weight", "token_types.weight"}
)
# The routed experts: the tensors llama-fit-params moves to system memory first (its -ot pattern).
_EXPERT = re.compile(r"ffn_(up|down|gate_up|gate)_(ch|)exps")


def _pad(n: int, align: int = GGUF_ALIGNMENT) -> int:
    return (n + align - 1) // align * align


@dataclass(frozen=True)
class WeightTable:
    """The weights of one quantization of one model, in the buckets placement needs.

    `layer_bytes[i]` is block i (all its tensors, experts included);
    `layer_expert_bytes[i]` the routed-expert part of it. `input_bytes` stay on
    the CPU; `output_bytes` go with the output layer. With tied embeddings
    llama.cpp loads `token_embd` a second time for the output layer, which is
    `tied_output_bytes`.
    """

    quant: str
    tensor_bytes: int  # sum over tensors: what `llama-quantize --dry-run` reports as the quant size
    padded_bytes: int  # the same with each tensor padded to the GGUF alignment, as written to the file
    n_weights: int
    layer_bytes: tuple[int, ...]
    layer_expert_bytes: tuple[int, ...]
    input_bytes: int
    output_bytes: int
    tied_output_bytes: int
    types: tuple[tuple[str, int, int], ...]  # (ggml type, tensors, bytes), largest first
    n_fallback: int  # tensors whose rows did not fit the mix's type (llama-quantize warns about each)

    @property
    def bits_per_weight(self) -> float:
        return self.tensor_bytes * 8 / self.n_weights if self.n_weights else 0.0


@dataclass
class _Bucket:
    slot: TensorSlot  # a representative: every member gets the type this one gets
    place: int  # block index, or n_layer for the output layer, n_layer + 1 for the input layer
    expert: bool
    rows: Counter[int]  # rows per tensor -> how many tensors have that many rows
    n_elements: int


class _Analysis:
    """Per-model work done once: slots in walk order and the buckets."""

    def __init__(self, facts: ModelFacts) -> None:
        if not facts.tensors:
            raise PlannerError(
                f"{facts.name} has no tensor table, so its quantized sizes cannot be computed."
            )
        arch = facts.architecture
        triples = [(t.name, tuple(t.shape), t.ggml_type) for t in facts.tensors]
        self.slots, n_wv, tied = build_slots(triples, arch)
        self.n_layer = max(facts.n_layers, max((s.layer + 1 for s in self.slots), default=0))
        n_head_kv = facts.head_count_kv[0] if facts.head_count_kv else facts.n_head
        self.shape = ModelShape(arch, self.n_layer, facts.n_head, n_head_kv, facts.n_expert)
        self.tied = tied
        self.n_wv = n_wv
        self.n_weights = sum(_elements(s.shape) for s in self.slots)
        self.buckets = self._bucket()
        self.tables: dict[tuple[str, bool], WeightTable] = {}

    def rules(self, imatrix: bool) -> RuleInputs:
        return RuleInputs(self.shape, self.n_wv, self.tied, imatrix)

    def place(self, slot: TensorSlot) -> int:
        if slot.layer >= 0:
            return slot.layer
        return self.n_layer + 1 if slot.name in _INPUT_TENSORS else self.n_layer

    def _signature(self, slot: TensorSlot) -> tuple[object, ...]:
        """Everything the rules can see of a tensor: equal signatures, equal types."""
        n = self.n_layer

        def tests(i: int, count: int) -> tuple[bool, ...]:
            return (
                i < count // 16,
                i < count // 8,
                i >= 7 * count // 8,
                (i - count // 8) % 3 == 2,
                i < 2,
                i < 4,
                0 <= i < count,
            )

        layer_dependent = slot.category in (
            Category.ATTENTION_V,
            Category.ATTENTION_QKV,
            Category.ATTENTION_KV_B,
            Category.FFN_DOWN,
            Category.FFN_GATE,
            Category.FFN_UP,
        )
        dep: tuple[object, ...] = ()
        if layer_dependent and slot.quantizable:
            dep = (tests(slot.counter, n), tests(slot.counter, self.n_wv), tests(slot.layer, n))
        ne2_expert = len(slot.shape) > 2 and slot.shape[2] > 1
        special = slot.name if slot.category in (Category.OUTPUT, Category.TOKEN_EMBD) else ""
        glm = self.shape.architecture == "glm5-next" and any(
            s in slot.name for s in ("attn_q_a", "attn_q_b", "nextn.eh_proj")
        )
        src = slot.source_type
        return (slot.category, slot.quantizable, slot.shape[0], ne2_expert, src, special, glm, dep)

    def _bucket(self) -> list[_Bucket]:
        found: dict[tuple[object, ...], _Bucket] = {}
        for slot in self.slots:
            place = self.place(slot)
            expert = slot.layer >= 0 and _EXPERT.search(slot.name) is not None
            key = (*self._signature(slot), place, expert)
            b = found.get(key)
            if b is None:
                b = found[key] = _Bucket(slot, place, expert, Counter(), 0)
            n_el = _elements(slot.shape)
            b.rows[n_el // slot.shape[0] if slot.shape else 1] += 1
            b.n_elements += n_el
        return list(found.values())


def _elements(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


_cache: dict[int, tuple[weakref.ref[ModelFacts], _Analysis]] = {}


def _analysis(facts: ModelFacts) -> _Analysis:
    key = id(facts)
    hit = _cache.get(key)
    if hit is not None and hit[0]() is facts:
        return hit[1]
    result = _Analysis(facts)

    def forget(_ref: weakref.ref[ModelFacts]) -> None:
        _cache.pop(key, None)

    _cache[key] = (weakref.ref(facts, forget), result)
    return result


def default_imatrix(fmt: QuantFormat) -> bool:
    """Plan as the file people actually download is made: with an importance matrix where one is required."""
    return fmt.needs_imatrix


def weight_table(facts: ModelFacts, quant: str, *, imatrix: bool | None = None) -> WeightTable:
    """The replayed weights of `facts` quantized as `quant` (cached per model and quant)."""
    fmt = quant_format(quant)
    use_imatrix = default_imatrix(fmt) if imatrix is None else imatrix
    an = _analysis(facts)
    cached = an.tables.get((fmt.name, use_imatrix))
    if cached is not None:
        return cached
    rules = an.rules(use_imatrix)
    n = an.n_layer
    per_place = [0] * (n + 2)
    expert = [0] * n
    total = padded = fallback = 0
    by_type: dict[str, list[int]] = {}
    for b in an.buckets:
        t, fell_back = choose_type(rules, fmt, b.slot)
        gt = GGML_TYPES[t]
        row = gt.row_bytes(b.slot.shape[0])
        n_tensors = sum(b.rows.values())
        size = 0
        for rows, count in b.rows.items():
            size += row * rows * count
            padded += _pad(row * rows) * count
        total += size
        per_place[b.place] += size
        if b.expert:
            expert[b.place] += size
        if fell_back:
            fallback += n_tensors
        acc = by_type.setdefault(t, [0, 0])
        acc[0] += n_tensors
        acc[1] += size
    table = WeightTable(
        quant=fmt.name,
        tensor_bytes=total,
        padded_bytes=padded,
        n_weights=an.n_weights,
        layer_bytes=tuple(per_place[:n]),
        layer_expert_bytes=tuple(expert),
        input_bytes=per_place[n + 1],
        output_bytes=per_place[n],
        tied_output_bytes=_tied_copy(an, fmt, rules) if an.tied else 0,
        types=tuple(sorted(((k, v[0], v[1]) for k, v in by_type.items()), key=lambda x: -x[2])),
        n_fallback=fallback,
    )
    an.tables[(fmt.name, use_imatrix)] = table
    return table


def _tied_copy(an: _Analysis, fmt: QuantFormat, rules: RuleInputs) -> int:
    for slot in an.slots:
        if slot.name == "token_embd.weight":
            t, _ = choose_type(rules, fmt, slot)
            return GGML_TYPES[t].row_bytes(slot.shape[0]) * (_elements(slot.shape) // slot.shape[0])
    return 0


def tensor_types(facts: ModelFacts, quant: str, *, imatrix: bool | None = None) -> list[TensorChoice]:
    """Every tensor's type and size in llama-quantize's walk order: the `--dry-run` listing."""
    fmt = quant_format(quant)
    an = _analysis(facts)
    rules = an.rules(default_imatrix(fmt) if imatrix is None else imatrix)
    out: list[TensorChoice] = []
    for slot in an.slots:
        t, _ = choose_type(rules, fmt, slot)
        rows = _elements(slot.shape) // slot.shape[0] if slot.shape else 1
        out.append(TensorChoice(slot.name, t, GGML_TYPES[t].row_bytes(slot.shape[0]) * rows))
    return out
