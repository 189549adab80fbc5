"""Re-division: bring a station's current grids back into range with the fewest moves.

`redivide` starts from the blocks the station works on now, not from scratch: blocks are cut
where a community changed, new units join the neighbouring block, and then only what is out of
range or in pieces is repaired — by moving border units (each move away from a unit's current
block has a cost, `Policy.keep_weight`, and a limit, `Policy.max_moved_units`), by splitting a
block above the maximum with the partitioner, and by merging a block below the minimum with its
lightest neighbour. Unchanged blocks keep their id, sector and clusters. `continuity` measures
how much of the current grids a plan keeps. See docs/division.md, "Re-division".
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import check_units
from .engine import (
    _Arrays,
    _by_level,
    _clusters,
    _label,
    _merge_islands,
    _reading_order,
    _rename,
    _search,
)
from .graph import Graph, components, quotient, unit_graph
from .measures import evaluate, level_ids, majority_kind
from .model import BaseUnit, Plan, Policy, Violation
from .partition import Bounds, choose_k, partition

# An old block is kept when its matched new block holds at least this share of its households,
# and the new block holds at most 1 - KEEP_SHARE of households from elsewhere.
KEEP_SHARE = 0.9
_EPS = 1e-9
# Rounds of (local search, split what is above the maximum, merge what is below the minimum).
_ROUNDS = 10
_BLOCK_CODES = ("block_households_low", "block_households_high", "block_population_high")


def continuity(
    units: Sequence[BaseUnit], before: Mapping[str, str], after: Mapping[str, str]
) -> dict[str, Any]:
    """How much of the `before` blocks (unit code → block id) the `after` blocks keep.

    Only units present in `units`, `before` and `after` count. Old blocks are matched one to
    one to new blocks, greedily by the households they share (then by units shared, then by
    id); a unit is kept when its old block's match is its new block. See docs/division.md.
    """
    by_code = {u.code: u for u in units}
    common = sorted(c for c in before if c in after and c in by_code)
    shared: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    old_total: dict[str, int] = defaultdict(int)
    for code in common:
        pair = shared[(before[code], after[code])]
        pair[0] += by_code[code].households
        pair[1] += 1
        old_total[before[code]] += by_code[code].households
    new_total: dict[str, int] = defaultdict(int)
    new_units: dict[str, int] = defaultdict(int)
    for code, block in after.items():
        if code in by_code:
            new_total[block] += by_code[code].households
            new_units[block] += 1
    match: dict[str, str] = {}
    taken: set[str] = set()
    for (old, new), _ in sorted(
        shared.items(), key=lambda item: (-item[1][0], -item[1][1], item[0])
    ):
        if old not in match and new not in taken:
            match[old] = new
            taken.add(new)
    kept = [c for c in common if match.get(before[c]) == after[c]]
    blocks_kept = 0
    for old, new in match.items():
        hh, count = shared[(old, new)]
        old_units = sum(n for (o, _), (_, n) in shared.items() if o == old)
        if old_total[old] > 0 and new_total[new] > 0:
            whole = hh >= KEEP_SHARE * old_total[old]
            alone = new_total[new] - hh <= (1 - KEEP_SHARE) * new_total[new]
        else:  # blocks without households: judge by units
            whole = count >= KEEP_SHARE * old_units
            alone = new_units[new] - count <= (1 - KEEP_SHARE) * new_units[new]
        blocks_kept += whole and alone
    kept_set = set(kept)
    return {
        "units": len(common),
        "units_kept": len(kept),
        "households": sum(by_code[c].households for c in common),
        "households_kept": sum(by_code[c].households for c in kept),
        "population": sum(by_code[c].population for c in common),
        "population_kept": sum(by_code[c].population for c in kept),
        "blocks_before": len({before[c] for c in common}),
        "blocks_after": len({after[c] for c in after if c in by_code}),
        "blocks_kept": blocks_kept,
        "moved": [c for c in common if c not in kept_set],
    }


def redivide(
    units: Sequence[BaseUnit], current: Mapping[str, str], policy: Policy, seed: int = 0
) -> Plan:
    """Repair the current grids (unit code → cluster id) for changed units, moving few units.

    Units missing from `current` are new; codes in `current` that are not in `units` are
    ignored. The units are checked as by `divide` (`check_units`: repaired or refused polygons,
    adjacency with the policy's snapping tolerance) and `plan.data` holds the report.
    Deterministic for a given seed. Raises ValueError for a malformed cluster id or what
    `check_units` raises for.
    """
    policy.validate()
    units, data_report = check_units(units, policy)
    old_cluster = {u.code: current[u.code] for u in units if u.code in current}
    old_levels = {code: level_ids(cid) for code, cid in old_cluster.items()}
    rng = np.random.default_rng(seed)
    graph = unit_graph([u.geometry for u in units], tolerance=policy.snap_tolerance_m)
    arrays = _Arrays.of_units(units, policy)
    state = _State.start(units, graph, arrays, policy, old_levels, rng)
    state.repair()
    state.within_limit()
    notes = state.merge_islands() if policy.island_policy == "merge" else []
    assignment = _name(state, units, graph, arrays, policy, old_cluster, old_levels, rng)
    # A generated plan: what the data do not explain is the search's (starts: count unknown).
    evaluation = evaluate(units, assignment, policy, graph=graph, starts={})
    notes = [_rename(n, assignment) for n in notes]
    if state.cap_reached:
        evaluation = dataclasses.replace(
            evaluation, violations=[_capped(v, policy) for v in evaluation.violations]
        )
    by_level = _by_level(assignment)
    before = {code: levels["block"] for code, levels in old_levels.items()}
    kept = continuity(units, before, by_level["block"])
    search = {
        "method": "redivide",
        "moves": state.moves,
        "splits": state.splits,
        "merges": state.merges,
        "new_units": state.new_units,
        "moved_units": len(kept["moved"]),
        "max_moved_units": policy.max_moved_units,
        "cap_reached": state.cap_reached,
    }
    return Plan(
        assignment=by_level,
        policy=policy,
        seed=seed,
        evaluation=evaluation,
        notes=notes,
        data=data_report,
        search=search,
        kept=kept,
    )


def _capped(v: Violation, policy: Policy) -> Violation:
    """A block violation left because the limit on moved units stopped the repair."""
    if v.code not in (*_BLOCK_CODES, "block_not_contiguous") or v.cause == "data":
        return v
    limit = f"the limit of {policy.max_moved_units} moved units was reached"
    head, sep, reason = v.message.partition(", because ")
    if sep and v.cause == "search":  # the limit is the real reason
        return dataclasses.replace(v, message=f"{head}, because {limit}", cause="search")
    if sep:  # a reason in the data: keep it, say the limit also stopped the repair
        return dataclasses.replace(v, message=f"{v.message} ({limit})")
    return dataclasses.replace(v, message=f"{v.message}, because {limit}", cause="search")


@dataclass
class _Piece:
    """A connected piece of one community, with the block range of its majority kind."""

    units: list[int]
    lo: float
    target: float
    hi: float
    pmax: float | None


@dataclass
class _State:
    """Blocks under repair: labels, per-block totals, and which old block each continues.

    `home[u]` is the old block id of unit u (None for a new unit); `origin[b]` is the old block
    id that block b continues (None for a block made by a split or from new units). A unit is
    moved when it has a home and its block's origin is not that home.
    """

    units: list[BaseUnit]
    graph: Graph
    arrays: _Arrays
    policy: Policy
    rng: np.random.Generator
    pieces: list[_Piece]
    piece_of: list[int]
    home: list[str | None]
    label: list[int] = field(default_factory=list)
    members: dict[int, set[int]] = field(default_factory=dict)
    origin: dict[int, str | None] = field(default_factory=dict)
    hh: dict[int, float] = field(default_factory=dict)
    pop: dict[int, float] = field(default_factory=dict)
    load: dict[int, float] = field(default_factory=dict)
    block_piece: dict[int, int] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)  # blocks made since the last local search
    # Changes in order, to undo: ("move", unit, from, to) or ("replace", old blocks, new labels).
    journal: list[Any] = field(default_factory=list)
    moved: int = 0
    moves: int = 0
    splits: int = 0
    merges: int = 0
    new_units: int = 0
    cap_reached: bool = False
    next_label: int = 0

    @classmethod
    def start(
        cls,
        units: list[BaseUnit],
        graph: Graph,
        arrays: _Arrays,
        policy: Policy,
        old_levels: Mapping[str, Mapping[str, str]],
        rng: np.random.Generator,
    ) -> _State:
        """Current blocks cut by community piece and into connected parts; new units joined."""
        by_community: dict[str, list[int]] = defaultdict(list)
        for i, u in enumerate(units):
            by_community[u.community].append(i)
        pieces: list[_Piece] = []
        piece_of = [-1] * len(units)
        for community in sorted(by_community):
            for nodes in components(graph.adj, by_community[community]):
                kind = majority_kind([units[i] for i in nodes])
                lo, target, hi, pmax = policy.block_range(kind)
                for i in nodes:
                    piece_of[i] = len(pieces)
                pieces.append(_Piece(sorted(nodes), lo, target, hi, pmax))
        home = [old_levels[u.code]["block"] if u.code in old_levels else None for u in units]
        state = cls(units, graph, arrays, policy, rng, pieces, piece_of, home)
        state.label = [-1] * len(units)
        groups: dict[tuple[int, str], list[int]] = defaultdict(list)
        for i, h in enumerate(home):
            if h is not None:
                groups[(piece_of[i], h)].append(i)
        parts = [
            (h, part) for (_, h), nodes in sorted(groups.items()) for part in _parts(graph, nodes)
        ]
        # The part of an old block holding most of its households continues it.
        best: dict[str, tuple[float, int]] = {}
        for n, (h, part) in enumerate(parts):
            mass = (float(arrays.households[part].sum()), -n)
            if h not in best or mass > best[h]:
                best[h] = mass
        for n, (h, part) in enumerate(parts):
            state.add_block(part, h if best[h][1] == -n else None)
        state.new_units = sum(h is None for h in home)
        state.moved = state.count_moved()
        state.join_new_units()
        return state

    # -- bookkeeping ---------------------------------------------------------------------------

    def add_block(self, nodes: Sequence[int], origin: str | None) -> int:
        b = self.next_label
        self.next_label += 1
        self.members[b] = set(nodes)
        self.origin[b] = origin
        self.block_piece[b] = self.piece_of[nodes[0]]
        self.dirty.add(b)
        for u in nodes:
            self.label[u] = b
        self.total(b)
        return b

    def total(self, b: int) -> None:
        idx = list(self.members[b])
        self.hh[b] = float(self.arrays.households[idx].sum())
        self.pop[b] = float(self.arrays.population[idx].sum())
        self.load[b] = float(self.arrays.workload[idx].sum())

    def drop(self, b: int) -> None:
        del self.members[b], self.origin[b], self.hh[b], self.pop[b], self.load[b]
        del self.block_piece[b]
        self.dirty.discard(b)

    def is_moved(self, u: int, b: int) -> bool:
        return self.home[u] is not None and self.origin[b] != self.home[u]

    def count_moved(self) -> int:
        return sum(self.is_moved(u, self.label[u]) for u in range(len(self.units)))

    def piece_blocks(self, p: int) -> list[int]:
        return sorted(b for b, q in self.block_piece.items() if q == p)

    def neighbours(self, b: int) -> set[int]:
        label = self.label
        return {label[v] for u in self.members[b] for v in self.graph.adj[u]} - {b, -1}

    def piece(self, b: int) -> _Piece:
        return self.pieces[self.block_piece[b]]

    def excess(self, b: int, hh: float, pop: float) -> float:
        """Households outside the range, plus people above the ceiling in households."""
        return _excess(self.piece(b), hh, pop)

    def over(self, b: int) -> bool:
        p = self.piece(b)
        return self.hh[b] > p.hi or bool(p.pmax and self.pop[b] > p.pmax)

    # -- new units -----------------------------------------------------------------------------

    def join_new_units(self) -> None:
        """Each new unit joins the adjacent block (same piece) sharing most boundary, in waves;
        new units in a piece with no current block are partitioned afresh."""
        adj, label, piece_of = self.graph.adj, self.label, self.piece_of
        loose = [u for u in range(len(self.units)) if label[u] == -1]
        while loose:
            joins: dict[int, int] = {}
            for u in loose:
                shared: dict[int, float] = defaultdict(float)
                for v, length in adj[u].items():
                    if label[v] != -1 and piece_of[v] == piece_of[u]:
                        shared[label[v]] += length
                if shared:
                    joins[u] = max(sorted(shared), key=lambda b: shared[b])
            if not joins:
                break
            for u, b in joins.items():
                label[u] = b
                self.members[b].add(u)
            for b in set(joins.values()):
                self.total(b)
            loose = [u for u in loose if label[u] == -1]
        by_piece: dict[int, list[int]] = defaultdict(list)
        for u in loose:
            by_piece[piece_of[u]].append(u)
        for p, part in sorted(by_piece.items()):
            for nodes in components(adj, part):
                for region in self.fresh(self.pieces[p], sorted(nodes)):
                    self.add_block(region, None)

    def fresh(self, p: _Piece, nodes: Sequence[int]) -> list[list[int]]:
        """A fresh partition of connected nodes, as `divide` would cut them; when that leaves a
        block out of range, also the count whose mean block is nearest the middle of the range
        (most room on both sides), keeping the cut with less out of range."""
        a = self.arrays
        idx = list(nodes)
        bounds = Bounds(p.lo, p.hi, p.pmax)
        hh = float(a.households[idx].sum())
        k = choose_k(hh, float(a.population[idx].sum()), p.target, bounds)
        best = self.cut(idx, k, bounds)
        low, high = math.ceil(hh / p.hi), math.floor(hh / p.lo)
        if self.out_of_range(p, best) and low <= high:
            middle = (p.lo + p.hi) / 2
            central = min(range(low, high + 1), key=lambda c: (abs(hh / c - middle), c))
            if central != k:
                other = self.cut(idx, central, bounds)
                if self.out_of_range(p, other) < self.out_of_range(p, best):
                    best = other
        return best

    def cut(self, nodes: list[int], k: int, bounds: Bounds) -> list[list[int]]:
        a = self.arrays
        return partition(
            self.graph,
            nodes,
            k,
            a.workload,
            a.households,
            a.population,
            bounds,
            self.rng,
            _search(self.policy),
        )

    def out_of_range(self, p: _Piece, regions: Sequence[Sequence[int]]) -> float:
        """Households outside the range (and people above the ceiling) over some regions."""
        total = 0.0
        for r in regions:
            hh = float(self.arrays.households[list(r)].sum())
            total += _excess(p, hh, float(self.arrays.population[list(r)].sum()))
        return total

    # -- repair --------------------------------------------------------------------------------

    def repair(self) -> None:
        """Local search, then split blocks still above the maximum and merge blocks still
        below the minimum, a few rounds, until nothing changes."""
        for round_ in range(_ROUNDS):
            self.descend(sorted(self.members) if round_ == 0 else self.around_dirty())
            changed = False
            for b in sorted(self.members, key=lambda b: (-self.hh[b], b)):
                if b in self.members and self.over(b):
                    changed |= self.split(b)
            for b in sorted(self.members, key=lambda b: (self.hh[b], b)):
                if b in self.members and self.hh[b] < self.piece(b).lo:
                    changed |= self.merge(b)
            if not changed:
                return
        self.descend(self.around_dirty())

    def merge_islands(self) -> list[Violation]:
        """With island_policy "merge": a community piece too small for a block joins the
        neighbouring block as `divide` does (engine's `_merge_islands`), keeping that block."""
        order = sorted(self.members)
        blocks = [sorted(self.members[b]) for b in order]
        islands = [
            i
            for i, b in enumerate(order)
            if self.arrays.households[self.piece(b).units].sum() < self.piece(b).lo
        ]
        merged, notes = _merge_islands(self.units, self.graph, blocks, islands)
        for nodes in merged:
            labels = sorted({self.label[u] for u in nodes})
            if len(labels) < 2:
                continue
            into = max(labels, key=lambda b: (self.origin[b] is not None, self.hh[b], -b))
            for b in labels:
                if b == into:
                    continue
                for u in self.members[b]:
                    self.label[u] = into
                self.members[into] |= self.members[b]
                self.drop(b)
            self.total(into)
        self.moved = self.count_moved()
        return notes

    def around_dirty(self) -> list[int]:
        """Blocks made since the last local search and their neighbours."""
        near = set(self.dirty)
        for b in self.dirty:
            near |= self.neighbours(b)
        self.dirty = set()
        return sorted(near)

    def replace(self, old: Sequence[int], regions: Sequence[Sequence[int]]) -> bool:
        """Replace blocks `old` by `regions`, each old origin going to the region holding most
        of its households; undone (and False) when that would pass the limit on moves."""
        saved = [(b, set(self.members[b]), self.origin[b]) for b in old]
        moved_before = sum(self.is_moved(u, b) for b, nodes, _ in saved for u in nodes)
        origins = sorted({o for _, _, o in saved if o is not None})
        for b in old:
            self.drop(b)
        new = [self.add_block(r, None) for r in regions]
        weight = {
            (o, b): sum(
                self.units[u].households + 1e-3 for u in self.members[b] if self.home[u] == o
            )
            for o in origins
            for b in new
        }
        taken: set[int] = set()
        for (o, b), _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0])):
            if b not in taken and all(self.origin[x] != o for x in new):
                self.origin[b] = o
                taken.add(b)
        moved = self.moved - moved_before
        moved += sum(self.is_moved(u, b) for b in new for u in self.members[b])
        cap = self.policy.max_moved_units
        if cap is not None and moved > max(cap, self.moved):
            self.restore(saved, new)
            self.cap_reached = True
            return False
        self.moved = moved
        self.journal.append(("replace", saved, new))
        return True

    def restore(self, saved: list[tuple[int, set[int], str | None]], new: list[int]) -> None:
        """Undo a `replace`: drop the new blocks, bring the old ones back."""
        for b in new:
            self.drop(b)
        for b, nodes, was in saved:
            self.members[b] = set(nodes)
            self.origin[b] = was
            self.block_piece[b] = self.piece_of[next(iter(nodes))]
            for u in nodes:
                self.label[u] = b
            self.total(b)

    def within_limit(self) -> None:
        """Undo the last changes while more units are moved, as `continuity` counts them (its
        one-to-one matching can differ from the blocks' origins), than the limit allows."""
        cap = self.policy.max_moved_units
        if cap is None:
            return
        before = {u.code: h for u, h in zip(self.units, self.home, strict=True) if h is not None}
        while self.journal:
            after = {u.code: str(b) for u, b in zip(self.units, self.label, strict=True)}
            kept = continuity(self.units, before, after)
            if kept["units"] - kept["units_kept"] <= cap:
                break
            self.cap_reached = True
            change = self.journal.pop()
            if change[0] == "move":
                _, u, a, b = change
                self.apply(u, b, a, log=False)
            else:
                _, saved, new = change
                self.restore(saved, new)
        self.moved = self.count_moved()

    def split(self, b: int) -> bool:
        nodes = sorted(self.members[b])
        p = self.piece(b)
        regions = self.fresh(p, nodes)
        if len(regions) < 2 or self.out_of_range(p, regions) > 0:
            # No number of in-range blocks fits this one alone, or the cut left one out of
            # range: cut it with neighbours.
            if self.merge(b):
                return True
        if len(regions) < 2:
            return False
        if self.out_of_range(p, regions) >= self.excess(b, self.hh[b], self.pop[b]) - _EPS:
            return False
        done = self.replace([b], regions)
        self.splits += done
        return done

    def merge(self, b: int) -> bool:
        """Merge a block with its lightest neighbour in the same piece, cutting the union again
        when it is above the maximum; when no such union can be cut into blocks in range, the
        other neighbours in turn, then the block with two of its four lightest neighbours. The
        union whose cut leaves least out of range is kept, if that is less than now."""
        near = sorted(
            (n for n in self.neighbours(b) if self.block_piece[n] == self.block_piece[b]),
            key=lambda n: (self.hh[n], n),
        )
        p = self.piece(b)
        options: list[tuple[int, ...]] = [(n,) for n in near]
        options += [(m, n) for i, m in enumerate(near[:4]) for n in near[i + 1 : 4]]
        best: tuple[float, tuple[int, ...], list[list[int]]] | None = None
        for others in options:
            group = (b, *others)
            union = sorted(u for x in group for u in self.members[x])
            now = sum(self.excess(x, self.hh[x], self.pop[x]) for x in group)
            hh = sum(self.hh[x] for x in group)
            pop = sum(self.pop[x] for x in group)
            if hh <= p.hi and not (p.pmax and pop > p.pmax):
                regions = [union]
            else:
                regions = self.fresh(p, union)
            left = self.out_of_range(p, regions)
            if left < now - _EPS and (best is None or left < best[0]):
                best = (left, group, regions)
            if best is not None and best[0] == 0:
                break
        if best is None:
            return False
        _, group, regions = best
        done = self.replace(list(group), regions)
        self.merges += done
        return done

    def descend(self, blocks: Sequence[int]) -> None:
        """Move border units while the objective falls: range excess first (lexicographic),
        then balance + keep_weight x units moved away from their block. Never breaks a block."""
        budget = max(1, self.policy.moves_per_unit) * len(self.units)
        targets = {
            p: (sum(self.load[b] for b in self.piece_blocks(p)) or 1.0)
            for p in range(len(self.pieces))
        }
        for p in range(len(self.pieces)):
            count = len(self.piece_blocks(p)) or 1
            targets[p] = max(targets[p] / count, _EPS)
        alpha = self.policy.complexity_alpha
        # Moving one unit of workload w between two blocks in range gains at most
        # 2 w (L_max - L_min) / T² of balance: a move costs that much at keep_weight 1.
        w_max = {
            p: max((float(self.arrays.workload[u]) for u in piece.units), default=0.0)
            for p, piece in enumerate(self.pieces)
        }
        unit_cost = {
            p: self.policy.keep_weight
            * (2 * w_max[p] * (piece.hi * (1 + alpha) - piece.lo) / targets[p] ** 2 + _EPS)
            for p, piece in enumerate(self.pieces)
        }
        self.dirty = set()
        queue = deque(sorted(blocks, key=lambda b: (-self.excess(b, self.hh[b], self.pop[b]), b)))
        queued = set(queue)
        cap = self.policy.max_moved_units
        while queue and self.moves < budget:
            r = queue.popleft()
            queued.discard(r)
            if r not in self.members:
                continue
            t = targets[self.block_piece[r]]
            found = []
            for u in sorted(self.members[r]):
                for v in self.graph.adj[u]:
                    s = self.label[v]
                    if s == r or self.piece_of[v] != self.piece_of[u]:
                        continue
                    for node, a, b in ((u, r, s), (v, s, r)):
                        d = self.delta(node, a, b, t, unit_cost[self.piece_of[node]])
                        if d[0] < -_EPS or (d[0] <= _EPS and d[1] < -1e-12):
                            found.append((d, node, a, b))
            found.sort()
            done = False
            for (_, _, dmoved), node, a, b in found:
                if not self.stays_connected(node, a):
                    continue
                if cap is not None and dmoved > 0 and self.moved + dmoved > cap:
                    self.cap_reached = True
                    continue
                self.apply(node, a, b)
                self.moved += dmoved
                done = True
                break
            if done:
                self.moves += 1
                for x in (r, a, b):
                    if x not in queued:
                        queued.add(x)
                        queue.append(x)

    def delta(
        self, u: int, a: int, b: int, target: float, unit_cost: float
    ) -> tuple[float, float, int]:
        h = float(self.arrays.households[u])
        p = float(self.arrays.population[u])
        w = float(self.arrays.workload[u])
        ex = (
            self.excess(a, self.hh[a] - h, self.pop[a] - p)
            + self.excess(b, self.hh[b] + h, self.pop[b] + p)
            - self.excess(a, self.hh[a], self.pop[a])
            - self.excess(b, self.hh[b], self.pop[b])
        )

        def bal(load: float) -> float:
            return ((load - target) / target) ** 2

        balance = (
            bal(self.load[a] - w) + bal(self.load[b] + w) - bal(self.load[a]) - bal(self.load[b])
        )
        dmoved = int(self.is_moved(u, b)) - int(self.is_moved(u, a))
        return ex, balance + unit_cost * dmoved, dmoved

    def stays_connected(self, u: int, a: int) -> bool:
        """Is block a still connected, and not empty, without u?"""
        label, adj = self.label, self.graph.adj
        starts = [v for v in adj[u] if label[v] == a]
        if not starts:
            return False
        if len(starts) == 1:
            return True
        wanted = set(starts[1:])
        seen = {u, starts[0]}
        stack = [starts[0]]
        while stack:
            x = stack.pop()
            for v in adj[x]:
                if v not in seen and label[v] == a:
                    wanted.discard(v)
                    if not wanted:
                        return True
                    seen.add(v)
                    stack.append(v)
        return not wanted

    def apply(self, u: int, a: int, b: int, log: bool = True) -> None:
        if log:
            self.journal.append(("move", u, a, b))
        self.label[u] = b
        self.members[a].discard(u)
        self.members[b].add(u)
        for table, arr in (
            (self.hh, self.arrays.households),
            (self.pop, self.arrays.population),
            (self.load, self.arrays.workload),
        ):
            table[a] -= float(arr[u])
            table[b] += float(arr[u])


def _new_sectors(
    block_graph: Graph,
    sector: list[str | None],
    loads: list[np.ndarray],
    policy: Policy,
    old_levels: Mapping[str, Mapping[str, str]],
    rng: np.random.Generator,
) -> None:
    """Give a sector to blocks none of whose units had one (in place).

    A run of such blocks big enough for sectors of its own is grouped into new sectors as
    `divide` groups blocks, each in the neighbouring district sharing most boundary (else a
    new district); a smaller run joins the neighbouring sector sharing most boundary.
    """
    taken: dict[str, set[int]] = defaultdict(set)  # district -> sector numbers in use
    for levels in old_levels.values():
        district, _, tail = levels["sector"].rpartition("-S")
        taken[district].add(int(tail) if tail.isdigit() else 0)
    adj = block_graph.adj

    def district_near(region: Sequence[int]) -> str:
        shared: dict[str, float] = defaultdict(float)
        for i in region:
            for j, length in adj[i].items():
                sj = sector[j]
                if sj is not None and j not in region:
                    shared[sj.rpartition("-S")[0]] += length
        if shared:
            return min(shared, key=lambda d: (-shared[d], d))
        number = max((int(d[1:]) for d in taken if d[1:].isdigit()), default=0) + 1
        return _label("", "D", number - 1, number)

    missing = [i for i, s in enumerate(sector) if s is None]
    for run in sorted(components(adj, missing), key=min):
        k = round(len(run) / policy.sector_blocks)
        touches = any(sector[j] is not None for i in run for j in adj[i])
        if k < 2 and touches:
            continue  # joins its neighbours below
        load, households, population = loads
        regions = partition(
            block_graph,
            sorted(run),
            max(1, k),
            load,
            households,
            population,
            Bounds(),
            rng,
            _search(policy),
        )
        for region in regions:
            district = district_near(region)
            free = max(taken[district], default=0) + 1
            taken[district].add(free)
            sid = _label(district, "S", free - 1, max(free, 9))
            for i in region:
                sector[i] = sid
    while None in sector:
        for i, s in enumerate(sector):
            if s is not None:
                continue
            shared: dict[str, float] = defaultdict(float)
            for j, length in adj[i].items():
                sj = sector[j]
                if sj is not None:
                    shared[sj] += length
            if shared:
                sector[i] = min(shared, key=lambda x: (-shared[x], x))


def _excess(p: _Piece, hh: float, pop: float) -> float:
    """Households outside the piece's range, plus people above its ceiling in households."""
    out = max(0.0, p.lo - hh) + max(0.0, hh - p.hi)
    if p.pmax and pop > p.pmax:
        out += (pop - p.pmax) * p.hi / p.pmax
    return out


def _parts(graph: Graph, nodes: Sequence[int]) -> list[list[int]]:
    return [sorted(c) for c in components(graph.adj, nodes)]


def _name(
    state: _State,
    units: Sequence[BaseUnit],
    graph: Graph,
    arrays: _Arrays,
    policy: Policy,
    old_cluster: Mapping[str, str],
    old_levels: Mapping[str, Mapping[str, str]],
    rng: np.random.Generator,
) -> dict[str, str]:
    """Unit code → cluster id: kept blocks keep their id (and clusters when unchanged); other
    blocks join the sector most of their units were in, or the neighbouring one."""
    blocks = sorted(state.members, key=lambda b: min(state.members[b]))
    nodes = [sorted(state.members[b]) for b in blocks]
    old_members: dict[str, set[int]] = defaultdict(set)
    for i, unit in enumerate(units):
        if unit.code in old_levels:
            old_members[old_levels[unit.code]["block"]].add(i)
    sector: list[str | None] = []
    for b, members in zip(blocks, nodes, strict=True):
        o = state.origin[b]
        if o is not None:
            sector.append(o.rsplit("-", 1)[0])
            continue
        votes: Counter[str] = Counter()
        for i in members:
            if units[i].code in old_levels:
                votes[old_levels[units[i].code]["sector"]] += units[i].households + 1
        sector.append(min(votes, key=lambda s: (-votes[s], s)) if votes else None)
    block_graph = quotient(graph, nodes)
    loads = [np.array([table[b] for b in blocks]) for table in (state.load, state.hh, state.pop)]
    _new_sectors(block_graph, sector, loads, policy, old_levels, rng)
    used: dict[str, set[int]] = defaultdict(set)
    for levels in old_levels.values():
        bid = levels["block"]
        tail = bid.rsplit("-B", 1)[1]
        if tail.isdigit():
            used[levels["sector"]].add(int(tail))
    assignment: dict[str, str] = {}
    fresh = [i for i, b in enumerate(blocks) if state.origin[b] is None]
    fresh_ids: dict[int, str] = {}
    for i in _reading_order(graph, nodes):
        if i not in fresh:
            continue
        s = sector[i]
        assert s is not None
        number = max(used[s], default=0) + 1
        used[s].add(number)
        fresh_ids[i] = _label(s, "B", number - 1, max(number, 9))
    for i, b in enumerate(blocks):
        origin = state.origin[b]
        bid = origin if origin is not None else fresh_ids[i]
        if origin is not None and state.members[b] == old_members[origin]:
            for u in nodes[i]:
                assignment[units[u].code] = old_cluster[units[u].code]
            continue
        clusters = _clusters(graph, arrays, nodes[i], policy, rng)
        for ci, c_pos in enumerate(_reading_order(graph, clusters)):
            cid = _label(bid, "C", ci, len(clusters))
            for u in clusters[c_pos]:
                assignment[units[u].code] = cid
    return assignment
