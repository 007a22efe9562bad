"""What a model's weights weigh in each quantization, tensor by tensor and layer by layer.

The replay in `core.planner.quant_rules` decides one tensor at a time. A 70B model has
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

import numpy as np

from core.errors import PlannerError
from core.facts.ggml_types import GGML_TYPES
from core.facts.quants import QuantFormat, quant_format
from core.facts.types import ModelFacts
from core.planner.quant_rules import (
    Category,
    ModelShape,
    RuleInputs,
    TensorChoice,
    TensorSlot,
    build_slots,
    choose_type,
    index_tests,
)

GGUF_ALIGNMENT = 32  # general.alignment default: each tensor's data starts on a multiple of it

# Tensors llama.cpp keeps with the input layer, always in system memory (dev_input is the CPU).
_INPUT_TENSORS = frozenset(
    {"token_embd.weight", "per_layer_token_embd.weight", "position_embd.weight", "token_types.weight"}
)
# The routed experts: the tensors llama-fit-params moves to system memory first (its -ot pattern).
_EXPERT = re.compile(r"ffn_(up|down|gate_up|gate)_(ch|)exps")
# which of llama.cpp's --fit patterns (common/fit.cpp, get_overflow_pattern) a tensor falls under:
# ffn_gate.* (router and fused gate_up included), ffn_up.*, ffn_down.*
_FFN_PART = re.compile(r"\.ffn_(gate|up|down)")
FFN_PARTS = ("gate", "up", "down")


def _pad(n: int, align: int = GGUF_ALIGNMENT) -> int:
    return (n + align - 1) // align * align


# every type some CPU repacks (ggml/src/ggml-cpu/repack.cpp, 0.3.36; core.planner.repack picks per CPU)
REPACKABLE = frozenset({"Q4_0", "Q4_K", "IQ4_NL", "MXFP4", "Q2_K", "Q5_K", "Q6_K", "Q8_0"})

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
    layer_active_expert_bytes: tuple[int, ...]  # the experts one token uses (n_expert_used / n_expert)
    # MoE: per block, the bytes of its ffn_gate.*, ffn_up.* and ffn_down.* tensors (experts, router and
    # shared experts), which --fit's fractional layer splits between devices; () for a dense model
    layer_ffn_bytes: tuple[tuple[int, int, int], ...]
    input_bytes: int
    output_bytes: int
    tied_output_bytes: int
    largest_block_tensor: int  # the biggest single weight inside the blocks (what op offload copies at once)
    # per type some CPU repacks (REPACKABLE): (type, bytes per block, of them routed experts, output layer),
    # matrices with a multiple of 8 rows only (core.planner.repack picks this CPU's types)
    repackable: tuple[tuple[str, tuple[int, ...], tuple[int, ...], int], ...]
    types: tuple[tuple[str, int, int], ...]  # (ggml type, tensors, bytes), largest first
    n_fallback: int  # tensors whose rows did not fit the mix's type (llama-quantize warns about each)

    @property
    def bits_per_weight(self) -> float:
        return self.tensor_bytes * 8 / self.n_weights if self.n_weights else 0.0


@dataclass
class _Bucket:
    slot: TensorSlot  # a representative: every member gets the type this one gets
    expert: bool
    ffn_part: int  # index in FFN_PARTS, -1 for a tensor outside them
    rows: Counter[int]  # rows per tensor -> how many tensors have that many rows (for padding)
    # place (block index, n_layer for the output layer, n_layer + 1 for the input layer) -> rows there
    places: dict[int, int]
    total_rows: int = 0
    n_tensors: int = 0
    max_rows: int = 0


class _Analysis:
    """Per-model work done once: slots in walk order and the buckets."""

    def __init__(self, facts: ModelFacts) -> None:
        if not facts.tensors:
            raise PlannerError(
                f"{facts.name} has no tensor table, so its quantized sizes cannot be computed."
            )
        arch = facts.architecture
        triples = [(t.name, t.shape, t.ggml_type) for t in facts.tensors]
        self.slots, n_wv, tied = build_slots(triples, arch)
        self.n_layer = n = max(facts.n_layers, max((s.layer + 1 for s in self.slots), default=0))
        n_head_kv = facts.head_count_kv[0] if facts.head_count_kv else facts.n_head
        self.shape = ModelShape(arch, n, facts.n_head, n_head_kv, facts.n_expert)
        self.tied = tied
        self.n_wv = n_wv
        used = facts.n_expert_used
        self.active_fraction = used / facts.n_expert if facts.n_expert > 1 and used else 1.0
        # parameters per unit (blocks, then the output layer), for FLOP counts
        self.unit_weights = [0] * (n + 1)
        self.unit_expert_weights = [0] * (n + 1)
        self.buckets = self._bucket()
        self.n_weights = sum(self.unit_weights) + self._input_weights
        # rows of every bucket at every place, so a quant's per-layer bytes are one matrix product
        self.rows_at = np.zeros((len(self.buckets), n + 2), dtype=np.int64)
        for i, b in enumerate(self.buckets):
            for place, rows in b.places.items():
                self.rows_at[i, place] = rows
        self.expert_mask = np.array([b.expert for b in self.buckets], dtype=np.int64)
        self.ffn_masks = [np.array([b.ffn_part == i for b in self.buckets], dtype=np.int64)
                          for i in range(len(FFN_PARTS))]  # fmt: skip
        self.has_experts = any(b.expert for b in self.buckets)
        self.tables: dict[tuple[str, bool], WeightTable] = {}
        self.header: tuple[int, bool] | None = None

    def rules(self, imatrix: bool) -> RuleInputs:
        return RuleInputs(self.shape, self.n_wv, self.tied, imatrix)

    def place(self, slot: TensorSlot) -> int:
        if slot.layer >= 0:
            return slot.layer
        return self.n_layer + 1 if slot.name in _INPUT_TENSORS else self.n_layer

    def _bucket(self) -> list[_Bucket]:
        """Group the slots by signature: everything the rules can see of a tensor, so equal types.

        The signature is the role, whether it is quantized, the row length,
        whether it holds experts, the source type, the tensors named in rules
        and, for the roles whose rules look at a layer or counter, the answer
        to every test those rules make of it. One pass also sums the
        parameters per unit.
        """
        n = self.n_layer
        glm5 = self.shape.architecture == "glm5-next"
        rules = self.rules(False)  # the index tests do not depend on the importance matrix
        tests_memo: dict[tuple[Category, int, int], tuple[bool, ...]] = {}
        found: dict[tuple[object, ...], _Bucket] = {}
        unit_weights, unit_expert_weights = self.unit_weights, self.unit_expert_weights
        input_weights = 0
        for slot in self.slots:
            name, shape, _, category, layer, quantizable, counter = slot
            place = layer if layer >= 0 else (n + 1 if name in _INPUT_TENSORS else n)
            n_el = _elements(shape)
            expert = layer >= 0 and "exps" in name and _EXPERT.search(name) is not None
            if place <= n:
                unit_weights[place] += n_el
                if expert:
                    unit_expert_weights[place] += n_el
            else:
                input_weights += n_el
            dep: tuple[bool, ...] | None = ()
            if quantizable and category in _LAYER_DEPENDENT:
                memo_key = (category, counter, layer)
                dep = tests_memo.get(memo_key)
                if dep is None:
                    dep = tests_memo[memo_key] = index_tests(rules, slot)
            ne2_expert = len(shape) > 2 and shape[2] > 1
            special = name if category in (Category.OUTPUT, Category.TOKEN_EMBD) else ""
            glm = glm5 and any(s in name for s in ("attn_q_a", "attn_q_b", "nextn.eh_proj"))
            fm = _FFN_PART.search(name) if layer >= 0 else None
            part = FFN_PARTS.index(fm.group(1)) if fm else -1
            key = (category, quantizable, shape[0], ne2_expert, slot.source_type, special, glm, dep, expert,
                   part)  # fmt: skip
            b = found.get(key)
            if b is None:
                b = found[key] = _Bucket(slot, expert, part, Counter(), {})
            rows = n_el // shape[0] if shape else 1
            b.rows[rows] += 1
            b.places[place] = b.places.get(place, 0) + rows
            b.total_rows += rows
            b.n_tensors += 1
            if rows > b.max_rows:
                b.max_rows = rows
        self._input_weights = input_weights
        return list(found.values())


# The roles whose rules read a layer index or a per-role counter.
_LAYER_DEPENDENT = frozenset(
    {
        Category.ATTENTION_V,
        Category.ATTENTION_QKV,
        Category.ATTENTION_KV_B,
        Category.FFN_DOWN,
        Category.FFN_GATE,
        Category.FFN_UP,
    }
)


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
    total = padded = fallback = 0
    by_type: dict[str, list[int]] = {}
    row_list: list[int] = []
    chosen: list[str] = []  # each bucket's type
    largest = 0
    align = GGUF_ALIGNMENT
    for b in an.buckets:
        t, fell_back = choose_type(rules, fmt, b.slot)
        row = GGML_TYPES[t].row_bytes(b.slot.shape[0])
        row_list.append(row)
        chosen.append(t)
        n_tensors = b.n_tensors
        size = row * b.total_rows
        for rows, count in b.rows.items():
            padded += (row * rows + align - 1) // align * align * count  # _pad, inlined: ~1500 calls a table
        if b.slot.layer >= 0 and row * b.max_rows > largest:
            largest = row * b.max_rows
        total += size
        if fell_back:
            fallback += n_tensors
        acc = by_type.setdefault(t, [0, 0])
        acc[0] += n_tensors
        acc[1] += size
    row_bytes = np.array(row_list, dtype=np.int64)
    per_place = (row_bytes @ an.rows_at).tolist()
    expert, active, ffn = _expert_parts(an, row_bytes)
    table = WeightTable(
        quant=fmt.name,
        tensor_bytes=total,
        padded_bytes=padded,
        n_weights=an.n_weights,
        layer_bytes=tuple(per_place[:n]),
        layer_expert_bytes=tuple(expert),
        layer_active_expert_bytes=active,
        layer_ffn_bytes=ffn,
        input_bytes=per_place[n + 1],
        output_bytes=per_place[n],
        tied_output_bytes=_tied_copy(an, fmt, rules) if an.tied else 0,
        largest_block_tensor=largest,
        repackable=_repackable(an, row_bytes, chosen),
        types=tuple(sorted(((k, v[0], v[1]) for k, v in by_type.items()), key=lambda x: -x[2])),
        n_fallback=fallback,
    )
    an.tables[(fmt.name, use_imatrix)] = table
    return table


def _expert_parts(an: _Analysis, row_bytes: np.ndarray) -> tuple[list[int], tuple[int, ...], tuple[
        tuple[int, int, int], ...]]:
    """Per block: routed-expert bytes, the share one token uses, and the ffn gate/up/down bytes (MoE)."""
    n = an.n_layer
    if not an.has_experts:  # dense: no expert bytes anywhere
        return [0] * n, (0,) * n, ()
    expert = ((row_bytes * an.expert_mask) @ an.rows_at).tolist()[:n]
    active = tuple(int(x * an.active_fraction) for x in expert)
    gate, up, down = (((row_bytes * mask) @ an.rows_at).tolist()[:n] for mask in an.ffn_masks)
    return expert, active, tuple(zip(gate, up, down, strict=True))


def _repackable(an: _Analysis, row_bytes: np.ndarray, chosen: list[str]
                ) -> tuple[tuple[str, tuple[int, ...], tuple[int, ...], int], ...]:
    """Per repackable type: its bytes per block, the routed experts' part, and the output layer's."""
    n = an.n_layer
    repack_rows: dict[str, list[int]] = {}  # type -> buckets of matrices with a multiple of 8 rows
    for i, (b, t) in enumerate(zip(an.buckets, chosen, strict=True)):
        if t in REPACKABLE and len(b.slot.shape) in (2, 3) and b.slot.shape[1] % 8 == 0:
            repack_rows.setdefault(t, []).append(i)
    out = []
    for t, idx in repack_rows.items():
        mask = np.zeros(len(row_bytes), dtype=np.int64)
        mask[idx] = 1
        per = ((row_bytes * mask) @ an.rows_at).tolist()
        exp = ((row_bytes * mask * an.expert_mask) @ an.rows_at).tolist()[:n] if an.has_experts else [0] * n
        out.append((t, tuple(per[:n]), tuple(exp), per[n]))
    return tuple(out)


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


def active_unit_weights(facts: ModelFacts) -> tuple[float, ...]:
    """Parameters one token multiplies with, per unit: dense weights plus the experts in use."""
    an = _analysis(facts)
    frac = an.active_fraction
    return tuple(w - e + e * frac for w, e in zip(an.unit_weights, an.unit_expert_weights, strict=True))


def gguf_overhead(facts: ModelFacts) -> tuple[int, bool]:
    """Bytes of a GGUF that are not tensor data (header, metadata, tensor infos, padding).

    Measured from the source file when there is one (llama-quantize copies
    its metadata and tensor infos, so a quantized file carries the same
    header); otherwise estimated from the vocabulary, which dominates it.
    The flag says whether the number was measured.
    """
    an = _analysis(facts)
    if an.header is None:
        an.header = _gguf_overhead(facts)
    return an.header


def _gguf_overhead(facts: ModelFacts) -> tuple[int, bool]:
    if facts.source == "gguf" and facts.file_size and facts.tensors:
        data = sum(_pad(t.n_bytes) for t in facts.tensors)
        if 0 < facts.file_size - data < 256 * 1024**2:
            return facts.file_size - data, True
    meta = dict(facts.metadata)
    tokenizer = str(meta.get("tokenizer.ggml.model", ""))
    # per token: the string (8-byte length + ~7 bytes), its type (4), a score (4, SentencePiece)
    # or its share of the BPE merges (~1-2 merges per token, ~20 bytes each)
    per_token = {"llama": 23, "gpt2": 60}.get(tokenizer, 45)
    infos = sum(24 + len(t.name) + 8 * len(t.shape) for t in facts.tensors)
    template = len(facts.chat_template or "") + 8
    return _pad(4096 + infos + template + per_token * facts.vocab_size), False
