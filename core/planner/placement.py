"""Where each layer of a quant row goes: GPUs, system RAM, or nowhere.

Follows llama.cpp's own rules. Layers are offloaded from the end: with
`-ngl k` the last k "layers" are on GPUs, where the output layer counts as one
and goes first, and `token_embd` always stays in system memory
(`llama_model_base::load_tensors`). Across several GPUs the default split is
proportional to each GPU's memory. When that does not fit, `--fit` (on by
default, common/fit.cpp) fills GPUs back to front, last GPU first, each with
as many layers as leave its margin free; for MoE models it first keeps every
layer's dense part on the GPUs with the routed experts in RAM, then moves
whole layers back onto the GPUs from the front. The search here uses the
planner's own memory model instead of llama.cpp's trial allocations.

Every GPU holds one contiguous run of units (unit u < n is block u, unit n the
output layer), so an assignment is a few integers and every trial is O(1)
with prefix sums: a 70B table stays within its time budget.

Then fit tries part of one more MoE layer per GPU, the rest going to the
next GPU (RAM from the last); so does the search here (`_fit_fraction`).

Simplifications: a machine whose GPUs hold nothing is planned as a pure CPU
run; the weight a prompt batch copies to the GPU for a CPU-resident layer
(op offload) is counted as the largest block tensor on the main GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from core.planner.assignment import Assignment, default_split_of
from core.planner.memory import ContextShape, GraphDims, compute_estimate, host_input_bytes, pipeline_extra
from core.planner.repack import RepackTable
from core.planner.types import DeviceMemory, MachineSpec, RuntimeSettings
from core.planner.weights import WeightTable


@dataclass(frozen=True)
class PlacementResult:
    assignment: Assignment
    devices: tuple[DeviceMemory, ...]  # GPUs in order, then the CPU
    placement: str  # "gpu" | "partial" | "cpu" | "none"
    tensor_split: tuple[int, ...]


class Placer:
    """Per-row placement: weights, KV and buffers per unit, then llama.cpp's search."""

    def __init__(
        self,
        wt: WeightTable,
        kv_layers: list[int],
        dims: GraphDims,
        ctx: ContextShape,
        s: RuntimeSettings,
        machine: MachineSpec,
        output_buffer: int,
        repack: RepackTable | None = None,
    ) -> None:
        self.repack = repack  # what llama.cpp repacks of the CPU-resident weights (None: --no-repack)
        self.n = n = len(wt.layer_bytes)
        self.units = n + 1
        self.wt = wt
        self.machine = machine
        self.s = s
        self.output_buffer = output_buffer
        w_full = [*wt.layer_bytes, wt.output_bytes + wt.tied_output_bytes]
        w_exp = [*wt.layer_expert_bytes, 0]
        kv = [*kv_layers[:n], *([0] * (n - len(kv_layers))), 0]  # MTP layers hold weights but no cache
        self.pw = [0, *accumulate(w_full)]
        self.pe = [0, *accumulate(w_exp)]
        self.pkv = [0, *accumulate(kv)]
        self.gpu_compute = compute_estimate(dims, ctx, s, on_gpu=True, has_output=False).peak
        self.gpu_compute_out = compute_estimate(dims, ctx, s, on_gpu=True, has_output=True).peak
        self.cpu_compute = compute_estimate(dims, ctx, s, on_gpu=False, has_output=True).peak
        self.host_inputs = host_input_bytes(dims, ctx, s)
        # several GPUs holding everything: pipeline parallelism keeps 4 copies of each split's inputs
        self.pp = pipeline_extra(dims, ctx, s) if len(machine.gpus) > 1 else None
        self.partial_host_extra = 2 * dims.n_embd * ctx.n_tokens * 4
        # a prompt batch runs CPU-resident layers' products on the GPU, one weight copy at a time
        # (ggml-backend starts a new split per offloaded weight so the copies reuse one slot)
        # the first device that offloads ops takes them (ggml-rpc has no offload_op, so with RPC devices in
        # front it is the first local GPU; with none, the CPU runs those products itself)
        self.offload_gpu = next((d for d, g in enumerate(machine.gpus) if g.offloads_ops), -1)
        self.offload_copy = wt.largest_block_tensor if s.op_offload and self.offload_gpu >= 0 else 0
        # a driver context per GPU that llama.cpp does not count (none on an RPC device)
        self.overheads = [s.gpu_overhead if g.has_runtime_overhead else 0 for g in machine.gpus]
        # what --fit lets a GPU fill; the runtime's own overhead comes out of it too
        self.caps = [max(0, g.memory - s.fit_margin) for g in machine.gpus]
        self.cpu_cap = max(0, machine.ram - s.fit_margin)

    # ------------------------------------------------------------------ accounting

    def _kept(self, u: int, kind: int) -> int:
        """Bytes of block u a device keeps when the block is fractional of `kind` (FRACTIONS)."""
        layer = self.wt.layer_bytes[u]
        gate, up, down = self.wt.layer_ffn_bytes[u]
        return layer - (gate + up + down, gate + down, down)[kind - 1]

    def _gpu_parts(self, a: Assignment, d: int, partial: bool) -> tuple[int, int, int]:
        s, e, f = a.starts[d], a.ends[d], a.full[d]
        overflow = 0
        if d > 0 and a.frac_of(d - 1):  # the rest of the previous GPU's fractional block lands here
            u = a.starts[d - 1] + a.full[d - 1]
            overflow = self.wt.layer_bytes[u] - self._kept(u, a.frac_of(d - 1))
        if e <= s:
            return overflow, 0, 0
        weights = self.pw[e] - self.pw[s] + overflow
        block_end = min(e, self.n)
        if s + f < block_end:
            weights -= self.pe[block_end] - self.pe[s + f]
            if a.frac_of(d):
                u = s + f
                dense_only = self.wt.layer_bytes[u] - self.wt.layer_expert_bytes[u]
                weights += self._kept(u, a.frac_of(d)) - dense_only
        kv = self.pkv[e] - self.pkv[s]
        compute = self.gpu_compute_out if e == self.units else self.gpu_compute
        if partial and d == self.offload_gpu:
            compute += self.offload_copy
        elif not partial and self.pp is not None:
            compute += self.pp.first if d == 0 else self.pp.later
        return weights, kv, compute

    def _partial(self, a: Assignment) -> bool:
        return a.n_gpu_layers < self.units or a.any_experts_on_cpu

    def fits(self, a: Assignment, only: int | None = None, strict: bool = False) -> bool:
        partial = self._partial(a)
        devices = range(len(self.caps)) if only is None else (only,)
        over = self.overheads
        if strict:  # fit's fractional-layer trials ask for less than the target, not at most
            return all(sum(self._gpu_parts(a, d, partial)) + over[d] < self.caps[d] for d in devices)
        return all(sum(self._gpu_parts(a, d, partial)) + over[d] <= self.caps[d] for d in devices)

    def usage(self, a: Assignment) -> tuple[DeviceMemory, ...]:
        partial = self._partial(a)
        out: list[DeviceMemory] = []
        on_gpu_weights = 0
        on_gpu_kv = 0
        for d, g in enumerate(self.machine.gpus):
            w, kv, c = self._gpu_parts(a, d, partial)
            used = a.ends[d] > a.starts[d]
            on_gpu_weights += w
            on_gpu_kv += kv
            out.append(
                DeviceMemory(
                    device=g.name,
                    is_gpu=True,
                    capacity=self.caps[d],
                    weights=w,
                    kv_cache=kv,
                    compute=c,
                    output=0,
                    overhead=self.overheads[d] if used else 0,
                    layers=min(a.ends[d], self.n) - min(a.starts[d], self.n) if used else 0,
                    has_output_layer=used and a.ends[d] == self.units,
                )
            )
        all_weights = self.pw[-1]
        output_on_cpu = not any(e == self.units and e > s for s, e in zip(a.starts, a.ends, strict=True))
        cpu_weights = self.wt.input_bytes + all_weights - on_gpu_weights
        if output_on_cpu:
            cpu_weights -= self.wt.tied_output_bytes  # no second copy when the output layer stays home
        repacked = self.repack.on_cpu(*a.unit_map()) if self.repack is not None else 0
        if a.n_gpu_layers == 0:
            host_compute = self.cpu_compute
        elif partial and self.offload_gpu < 0:
            host_compute = self.cpu_compute  # nothing offloads ops: the CPU runs its layers' products
        elif partial:
            host_compute = self.host_inputs + self.partial_host_extra
        else:
            host_compute = self.host_inputs + (self.pp.host if self.pp is not None else 0)
        out.append(
            DeviceMemory(
                device="CPU",
                is_gpu=False,
                capacity=self.cpu_cap,
                weights=cpu_weights + repacked,
                kv_cache=self.pkv[-1] - on_gpu_kv,
                compute=host_compute,
                output=self.output_buffer,
                overhead=0,
                layers=self.n - sum(d.layers for d in out),
                has_output_layer=output_on_cpu,
                repacked=repacked,
            )
        )
        return tuple(out)

    # ------------------------------------------------------------------ the search

    def _empty(self) -> Assignment:
        nd = len(self.caps)
        return Assignment(self.units, (self.units,) * nd, (self.units,) * nd, (0,) * nd)

    def default_split(self) -> Assignment:
        """-ngl all with llama.cpp's default split: unit u to the GPU whose memory share covers u/(n+1)."""
        return default_split_of(self.units, tuple(g.memory for g in self.machine.gpus))

    def _fill_back_to_front(self, dense_only: bool) -> Assignment:
        """common/fit.cpp step 3: each GPU, last first, takes the most trailing units that fit."""
        nd = len(self.caps)
        starts = [self.units] * nd
        ends = [self.units] * nd
        full = [0] * nd
        end = self.units
        for d in range(nd - 1, -1, -1):
            lo, hi = 0, end
            while lo < hi:
                mid = (lo + hi + 1) // 2
                trial_s, trial_e, trial_f = list(starts), list(ends), list(full)
                trial_s[d], trial_e[d] = end - mid, end
                trial_f[d] = 0 if dense_only else mid
                if self.fits(Assignment(self.units, tuple(trial_s), tuple(trial_e), tuple(trial_f)), only=d):
                    lo = mid
                else:
                    hi = mid - 1
            starts[d], ends[d] = end - lo, end
            full[d] = 0 if dense_only else lo
            end -= lo
            if end == 0:
                break
        for d in range(nd):  # GPUs left empty sit at the front of the range list
            if ends[d] == starts[d]:
                starts[d] = ends[d] = min([end, *(s for s, e in zip(starts, ends, strict=True) if e > s)])
        return Assignment(self.units, tuple(starts), tuple(ends), tuple(full))

    def _pull_forward(self, a: Assignment, d: int, cur: int, k: int) -> Assignment:
        """GPU d takes layers [cur, cur + k) with their experts, then keeps its own dense-only run."""
        s2, e2, f2 = list(a.starts), list(a.ends), list(a.full)
        own_end = max(a.ends[d], cur)
        s2[d], e2[d], f2[d] = cur, max(own_end, cur + k), k
        for j in range(d + 1, len(s2)):  # later GPUs give up the layers pulled forward
            s2[j] = max(s2[j], e2[d])
            e2[j] = max(e2[j], s2[j])
        return Assignment(self.units, tuple(s2), tuple(e2), tuple(f2), a.frac)

    def _with_fraction(self, a: Assignment, d: int, kind: int) -> Assignment | None:
        """GPU d makes its first dense-only block fractional (else the next GPU's first); None if none."""
        nd = len(self.caps)
        starts, ends = list(a.starts), list(a.ends)
        u = starts[d] + a.full[d]
        if u >= min(ends[d], self.n):
            if ends[d] >= self.n:
                return None
            holder = next((j for j in range(d + 1, nd) if starts[j] <= ends[d] < ends[j]), None)
            if holder is None:
                return None
            ends[d] += 1
            for j in range(d + 1, holder + 1):
                starts[j] = max(starts[j], ends[d])
                ends[j] = max(ends[j], starts[j])
        frac = list(a.frac or (0,) * nd)
        frac[d] = kind
        return Assignment(self.units, tuple(starts), tuple(ends), a.full, tuple(frac))

    def _fraction_fits(self, a: Assignment | None, d: int) -> bool:
        if a is None:
            return False
        last = d + 1 == len(self.caps)
        return self.fits(a, only=d, strict=True) and (last or self.fits(a, d + 1, strict=True))

    def _fit_fraction(self, a: Assignment, d: int) -> Assignment:
        """fit.cpp step 4's "part of one more layer": up experts, then gate too; else attention only."""
        up = self._with_fraction(a, d, 2)
        if self._fraction_fits(up, d):
            gate = self._with_fraction(a, d, 3)
            return gate if gate is not None and self._fraction_fits(gate, d) else up  # type: ignore[return-value]
        attn = self._with_fraction(a, d, 1)
        return attn if attn is not None and self._fraction_fits(attn, d) else a

    def _convert_front_to_back(self, a: Assignment) -> Assignment:
        """common/fit.cpp step 4 (MoE): whole layers, first layers first, GPU 0 first.

        Each GPU in turn takes as many leading layers *with* their experts as
        it can hold, pulling them from the dense-only ranges of the GPUs after
        it (which only get lighter), and keeps its own dense-only layers after
        those. The output layer stays on the last GPU.
        """
        cur = 0
        for d in range(len(self.caps)):
            lo, hi = 0, max(0, self.n - cur)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self.fits(self._pull_forward(a, d, cur, mid), only=d):
                    lo = mid
                else:
                    hi = mid - 1
            a = self._fit_fraction(self._pull_forward(a, d, cur, lo), d)
            cur = a.ends[d]
        return a

    def place_default(self) -> PlacementResult:
        """Every layer on the GPUs, split by memory: what llama.cpp does when fit changes no layer."""
        if not self.caps:
            return self._result(self._empty())
        return self._result(self.default_split())

    def place(self, check_default: bool = True) -> PlacementResult:  # False: see FitContext.refill
        if not self.caps:
            return self._result(self._empty())
        a = self.default_split()
        if check_default and self.fits(a):
            return self._result(a)
        if self.pe[-1]:  # MoE: routed experts go to RAM before whole layers do
            dense = self._fill_back_to_front(dense_only=True)
            if dense.n_gpu_layers == self.units:
                return self._result(self._convert_front_to_back(dense))
            return self._result(dense)
        return self._result(self._fill_back_to_front(dense_only=False))

    def _result(self, a: Assignment) -> PlacementResult:
        devs = self.usage(a)
        cpu = devs[-1]
        # the file's pages behind repacked weights are clean cache the kernel drops when RAM is short:
        # the copy counts (llama.cpp reports CPU_REPACK on top of CPU_Mapped), the twin it replaced does not
        if cpu.total - cpu.repacked > cpu.capacity:
            kind = "none"
        elif a.n_gpu_layers == 0:
            kind = "cpu"
        elif a.n_gpu_layers == self.units and not a.any_experts_on_cpu:
            kind = "gpu"
        else:
            kind = "partial"
        split: tuple[int, ...] = ()
        if len(self.caps) > 1:
            split = tuple(e - s for s, e in zip(a.starts, a.ends, strict=True))
        return PlacementResult(a, devs, kind, split)
