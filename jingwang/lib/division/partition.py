"""Split one connected piece of a graph into k contiguous, balanced regions.

Four steps, each close to linear in the number of nodes:

1. seeds: k weighted k-means centres over the node centroids (spread evenly over the piece);
2. growth: every region starts at the node nearest its centre; the lightest region that still
   has unassigned neighbours takes the one nearest its centre, until every node is taken;
3. local search: boundary nodes move to a neighbouring region, or two nodes of neighbouring
   regions trade places, while that lowers the objective (squared relative deviation from the
   mean weight, a penalty linear + quadratic in the households outside the range or the people
   above the ceiling, and a small term for the length of boundary cut), as long as both regions
   stay connected. Every move strictly lowers the objective, so the search ends; a budget of
   moves bounds its time;
4. perturbation (iterated local search): for each region still more than 5% off, force one of
   its border nodes across, descend again without letting that node straight back, and keep
   the result only if the objective fell; otherwise undo it. A few rounds of this let load flow
   through balanced neighbours, which plain descent cannot do.

Regions are contiguous by construction: growth only adds neighbours, and a move is refused when
the node is an articulation point of its donor region.

`partition_scored` also returns how good the result is (the objective, the households left
outside the range) and how much work the search did, counted in evaluations of a move (a number
that does not depend on the machine), so that the engine can compare several starts and budget
them without a clock. `split_forced` finds what the data force before any search: units alone
above the maximum, and the dead-end pockets that can only join them.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from .graph import Graph, components

# Weight of the households-range and population penalties relative to the balance term: being
# outside the range must always cost more than being unbalanced inside it.
_PENALTY = 20.0
_EPS = 1e-12
_KMEANS_ROUNDS = 6
# A region is worth perturbing when its cost is above that of a 5% deviation from the mean.
_BAD = 0.05**2
_KICK_BUDGET = 30


@dataclass(frozen=True)
class Search:
    """Effort and taste of the local search (see Policy for the meaning of each)."""

    moves_per_node: int = 40
    compactness_weight: float = 0.02
    perturbation_rounds: int = 6


@dataclass(frozen=True)
class Bounds:
    """Households range and population ceiling of a region; None where the level has none."""

    households_min: float | None = None
    households_max: float | None = None
    population_max: float | None = None


def choose_k(households: float, population: float, target: float, bounds: Bounds) -> int:
    """Number of regions for a piece: near households/target, inside the range if any k fits."""
    k = max(1, round(households / target)) if target > 0 else 1
    feasible_low, feasible_high = k_range(households, population, bounds)
    if feasible_low <= feasible_high:
        k = min(max(k, feasible_low), feasible_high)
    return max(1, k)


def k_range(households: float, population: float, bounds: Bounds) -> tuple[int, int]:
    """The numbers of regions whose mean fits the range and the ceiling: [low, high], which is
    empty (low > high) when no whole number of regions can hold the piece."""
    lo, hi = bounds.households_min, bounds.households_max
    feasible_low = math.ceil(households / hi) if hi else 1
    feasible_high = math.floor(households / lo) if lo else max(feasible_low, 1 << 30)
    if bounds.population_max:
        feasible_low = max(feasible_low, math.ceil(population / bounds.population_max))
    return feasible_low, feasible_high


@dataclass(frozen=True)
class Scored:
    """A partition with its quality and the work it took.

    `objective` is the local search's total cost (balance, range and ceiling penalties,
    boundary cut; lower is better) — comparable between starts with the same k. `outside` is
    the households outside the range, summed over regions, and `over_ceiling` the people above
    the ceiling: what a user sees as blocks out of range. `work` counts the search's move
    evaluations plus one per node for the set-up (seeds, growth), which is what its time
    follows, on any machine.
    """

    regions: list[list[int]]
    k: int
    objective: float
    outside: float
    over_ceiling: float
    work: int

    def key(self) -> tuple[float, float, float]:
        """Order of preference between starts: fewer households out of range, then people
        above the ceiling, then the objective."""
        return (round(self.outside, 6), round(self.over_ceiling, 6), self.objective)


def partition(
    graph: Graph,
    nodes: Sequence[int],
    k: int,
    weight: np.ndarray,
    households: np.ndarray,
    population: np.ndarray,
    bounds: Bounds,
    rng: np.random.Generator,
    search: Search | None = None,
) -> list[list[int]]:
    """Split connected `nodes` of `graph` into `k` contiguous regions (lists of node ids)."""
    return partition_scored(
        graph, nodes, k, weight, households, population, bounds, rng, search
    ).regions


def partition_scored(
    graph: Graph,
    nodes: Sequence[int],
    k: int,
    weight: np.ndarray,
    households: np.ndarray,
    population: np.ndarray,
    bounds: Bounds,
    rng: np.random.Generator,
    search: Search | None = None,
) -> Scored:
    """`partition`, with the objective of the result and the work done (see `Scored`)."""
    search = search or Search()
    nodes = list(nodes)
    k = max(1, min(k, len(nodes)))
    local = {u: i for i, u in enumerate(nodes)}
    adj = [{local[v]: w for v, w in graph.adj[u].items() if v in local} for u in nodes]
    w = weight[nodes].astype(float)
    if k == 1:
        labels = [0] * len(nodes)
    else:
        xy = graph.xy[nodes]
        centres = _kmeans_centres(xy, w, k, rng)
        seeds = _seed_nodes(xy, centres, rng)
        labels = _grow(adj, xy, w, seeds, centres)
    local_search = _LocalSearch(
        adj=adj,
        labels=labels,
        k=k,
        weight=w,
        households=households[nodes].astype(float),
        population=population[nodes].astype(float),
        bounds=bounds,
        edge_scale=float(np.mean(graph.perimeter[nodes])) or 1.0,
        compactness_weight=search.compactness_weight,
    )
    if k > 1:
        local_search.run(
            budget=search.moves_per_node * len(nodes), kicks=search.perturbation_rounds, rng=rng
        )
    regions: list[list[int]] = [[] for _ in range(k)]
    for i, r in enumerate(local_search.labels):
        regions[r].append(nodes[i])
    outside, over = local_search.excess()
    return Scored(
        regions=[r for r in regions if r],
        k=k,
        objective=local_search.total(),
        outside=outside,
        over_ceiling=over,
        work=len(nodes) + local_search.work,
    )


@dataclass(frozen=True)
class Forced:
    """A unit alone above the households maximum: a block of its own, with its pocket (units
    of the piece cut off behind it, too few for a block, that can only join it)."""

    unit: int
    pocket: tuple[int, ...] = ()

    @property
    def members(self) -> list[int]:
        return sorted((self.unit, *self.pocket))


@dataclass(frozen=True)
class PieceSplit:
    """What the data force in a connected piece, and the connected rest to be searched."""

    forced: tuple[Forced, ...] = ()
    rest: tuple[tuple[int, ...], ...] = field(default_factory=tuple)


def split_forced(
    adj: Sequence[dict[int, float]], piece: Sequence[int], households: np.ndarray, bounds: Bounds
) -> PieceSplit:
    """Blocks the data force in a connected piece, and the connected parts left for the search.

    A unit whose households alone exceed the maximum cannot share a block: it is a block of its
    own. Without those units the rest of the piece may fall apart; a part with fewer households
    than the minimum cannot be a block, and every unit it touches outside itself is one of
    those big units, so it joins one (the lightest it touches, then the first): a dead-end
    pocket. The other parts are divided as usual, their number of blocks chosen on their own
    households. A piece without such a unit is returned whole as the rest.
    """
    hi, lo = bounds.households_max, bounds.households_min or 0.0
    nodes = sorted(piece)
    big = [u for u in nodes if hi is not None and households[u] > hi]
    if not big:
        return PieceSplit((), (tuple(nodes),))
    big_set = set(big)
    pockets: dict[int, list[int]] = {u: [] for u in big}
    rest: list[tuple[int, ...]] = []
    for part in components(adj, [u for u in nodes if u not in big_set]):
        touching = sorted({v for u in part for v in adj[u] if v in big_set})
        if touching and float(households[part].sum()) < lo:
            into = min(touching, key=lambda b: (float(households[b]), b))
            pockets[into] += part
        else:
            rest.append(tuple(part))
    forced = tuple(Forced(u, tuple(sorted(pockets[u]))) for u in big)
    return PieceSplit(forced, tuple(rest))


def _kmeans_centres(xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted k-means++ initialisation and a few Lloyd rounds; nearest centre by STRtree."""
    mass = w + (w.sum() / len(w) if w.sum() > 0 else 1.0) * 1e-3  # zero-weight nodes still count
    first = rng.choice(len(xy), p=mass / mass.sum())
    centres = [xy[first]]
    d2 = ((xy - xy[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        p = d2 * mass
        total = p.sum()
        pick = rng.choice(len(xy), p=p / total) if total > 0 else rng.integers(len(xy))
        centres.append(xy[pick])
        d2 = np.minimum(d2, ((xy - xy[pick]) ** 2).sum(axis=1))
    c = np.array(centres)
    points = shapely.points(xy)
    for _ in range(_KMEANS_ROUNDS):
        nearest = _nearest(c, points)
        total = np.bincount(nearest, weights=mass, minlength=k)
        sx = np.bincount(nearest, weights=mass * xy[:, 0], minlength=k)
        sy = np.bincount(nearest, weights=mass * xy[:, 1], minlength=k)
        moved = total > 0
        c[moved] = np.column_stack([sx[moved] / total[moved], sy[moved] / total[moved]])
    return c


def _nearest(centres: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each point."""
    tree = shapely.STRtree(shapely.points(centres))
    idx = tree.query_nearest(points, all_matches=False)
    out = np.empty(len(points), dtype=np.int64)
    out[idx[0]] = idx[1]
    return out


def _seed_nodes(xy: np.ndarray, centres: np.ndarray, rng: np.random.Generator) -> list[int]:
    """The node nearest each centre; a centre whose node is taken gets a random free node."""
    tree = shapely.STRtree(shapely.points(xy))
    idx = tree.query_nearest(shapely.points(centres), all_matches=False)
    nearest = np.empty(len(centres), dtype=np.int64)
    nearest[idx[0]] = idx[1]
    seeds: list[int] = []
    used: set[int] = set()
    for node in nearest.tolist():
        if node in used:
            free = [i for i in range(len(xy)) if i not in used]
            node = free[int(rng.integers(len(free)))]
        used.add(node)
        seeds.append(node)
    return seeds


def _grow(
    adj: list[dict[int, float]],
    xy: np.ndarray,
    w: np.ndarray,
    seeds: list[int],
    centres: np.ndarray,
) -> list[int]:
    """Grow all regions at once, lightest first, each taking the free neighbour nearest its centre."""
    labels = [-1] * len(adj)
    load = [0.0] * len(seeds)
    frontier: list[list[tuple[float, int]]] = [[] for _ in seeds]
    cx, cy = centres[:, 0].tolist(), centres[:, 1].tolist()
    px, py = xy[:, 0].tolist(), xy[:, 1].tolist()
    weights = w.tolist()

    def take(r: int, u: int) -> None:
        labels[u] = r
        load[r] += weights[u]
        for v in adj[u]:
            if labels[v] == -1:
                d = (px[v] - cx[r]) ** 2 + (py[v] - cy[r]) ** 2
                heapq.heappush(frontier[r], (d, v))

    for r, s in enumerate(seeds):
        labels[s] = r
    for r, s in enumerate(seeds):
        labels[s] = -1
        take(r, s)
    queue = [(load[r], r) for r in range(len(seeds))]
    heapq.heapify(queue)
    while queue:
        _, r = heapq.heappop(queue)
        f = frontier[r]
        while f and labels[f[0][1]] != -1:
            heapq.heappop(f)
        if not f:
            continue  # enclosed: the region stops growing
        _, u = heapq.heappop(f)
        take(r, u)
        heapq.heappush(queue, (load[r], r))
    return labels


class _LocalSearch:
    """Move boundary nodes between adjacent regions while the objective falls."""

    def __init__(
        self,
        adj: list[dict[int, float]],
        labels: list[int],
        k: int,
        weight: np.ndarray,
        households: np.ndarray,
        population: np.ndarray,
        bounds: Bounds,
        edge_scale: float,
        compactness_weight: float,
    ) -> None:
        self.adj = adj
        self.labels = labels
        self.k = k
        self.w = weight.tolist()
        self.h = households.tolist()
        self.p = population.tolist()
        self.members: list[set[int]] = [set() for _ in range(k)]
        self.load = [0.0] * k
        self.hh = [0.0] * k
        self.pop = [0.0] * k
        for u, r in enumerate(labels):
            self.members[r].add(u)
            self.load[r] += self.w[u]
            self.hh[r] += self.h[u]
            self.pop[r] += self.p[u]
        self.target = max(sum(self.w) / k, _EPS)
        self.h_scale = max(sum(self.h) / k, _EPS)
        self.bounds = bounds
        self.gamma = compactness_weight / edge_scale
        # Only differences of the objective matter; it starts at 0 and follows every move.
        self.objective = 0.0
        self.log: list[tuple[int, int, int]] | None = None
        self.tabu = -1  # the node just kicked, which descent may not simply move back
        self.rcost = [self.region_cost(r) for r in range(k)]
        self.max_gain = [self.gamma * sum(edges.values()) for edges in adj]
        self.work = 0  # move evaluations: what the search's time follows

    def total(self) -> float:
        """The objective itself: region costs plus the weighted length of boundary cut."""
        labels = self.labels
        cut = sum(
            length
            for u, edges in enumerate(self.adj)
            for v, length in edges.items()
            if v > u and labels[v] != labels[u]
        )
        return float(sum(self.region_cost(r) for r in range(self.k)) + self.gamma * cut)

    def excess(self) -> tuple[float, float]:
        """(households outside the range, people above the ceiling), summed over regions."""
        b = self.bounds
        outside = over = 0.0
        for r in range(self.k):
            if not self.members[r]:
                continue
            if b.households_min is not None and self.hh[r] < b.households_min:
                outside += b.households_min - self.hh[r]
            if b.households_max is not None and self.hh[r] > b.households_max:
                outside += self.hh[r] - b.households_max
            if b.population_max and self.pop[r] > b.population_max:
                over += self.pop[r] - b.population_max
        return outside, over

    def cost(self, load: float, hh: float, pop: float) -> float:
        dev = (load - self.target) / self.target
        c = dev * dev
        b = self.bounds
        excess = 0.0
        if b.households_min is not None and hh < b.households_min:
            excess += b.households_min - hh
        if b.households_max is not None and hh > b.households_max:
            excess += hh - b.households_max
        if excess:
            x = excess / self.h_scale
            c += _PENALTY * (x + x * x)
        if b.population_max and pop > b.population_max:
            x = (pop - b.population_max) / b.population_max
            c += _PENALTY * (x + x * x)
        return c

    def delta(self, u: int, a: int, b: int, exact: bool = False) -> float:
        """Change of the objective when node u moves from region a to region b.

        Unless `exact`, a move that cannot improve the objective may be given a smaller
        positive value than its true change (still positive, so never chosen).
        """
        self.work += 1
        w, h, p = self.w[u], self.h[u], self.p[u]
        before = self.rcost[a] + self.rcost[b]
        after = self.cost(self.load[a] - w, self.hh[a] - h, self.pop[a] - p) + self.cost(
            self.load[b] + w, self.hh[b] + h, self.pop[b] + p
        )
        change = after - before
        # The boundary term can gain at most u's whole boundary: skip counting it when even
        # that could not make the move an improvement (most candidates).
        if not self.gamma or (change > self.max_gain[u] and not exact):
            return change
        cut = 0.0
        labels = self.labels
        for v, length in self.adj[u].items():
            if labels[v] == a:
                cut += length
            elif labels[v] == b:
                cut -= length
        return change + self.gamma * cut

    def stays_connected(self, u: int, a: int) -> bool:
        """Is region a still connected without u? Its a-neighbours of u must reach each other."""
        labels = self.labels
        starts = [v for v in self.adj[u] if labels[v] == a]
        if len(starts) <= 1:
            return len(self.members[a]) > 1
        wanted = set(starts[1:])
        seen = {u, starts[0]}
        stack = [starts[0]]
        while stack:
            x = stack.pop()
            for v in self.adj[x]:
                if v not in seen and labels[v] == a:
                    if v in wanted:
                        wanted.discard(v)
                        if not wanted:
                            return True
                    seen.add(v)
                    stack.append(v)
        return not wanted

    def apply(self, u: int, a: int, b: int, delta: float) -> None:
        """Move u from a to b; `delta` is the objective change, computed before the move."""
        if self.log is not None:
            self.log.append((u, a, b))
        self.objective += delta
        self.labels[u] = b
        self.members[a].discard(u)
        self.members[b].add(u)
        for arr, value in ((self.load, self.w[u]), (self.hh, self.h[u]), (self.pop, self.p[u])):
            arr[a] -= value
            arr[b] += value
        self.rcost[a] = self.region_cost(a)
        self.rcost[b] = self.region_cost(b)

    def candidates(self, r: int) -> list[tuple[float, int, int, int]]:
        """Improving moves touching region r: give one of its nodes, or take a neighbour's."""
        labels = self.labels
        found: list[tuple[float, int, int, int]] = []
        seen: set[tuple[int, int]] = set()
        for u in self.members[r]:
            for v in self.adj[u]:
                s = labels[v]
                if s == r:
                    continue
                for node, a, b in ((u, r, s), (v, s, r)):
                    if (node, b) in seen or node == self.tabu:
                        continue
                    seen.add((node, b))
                    d = self.delta(node, a, b)
                    if d < -1e-12:
                        found.append((d, node, a, b))
        found.sort()
        return found

    def swap_delta(self, u: int, a: int, v: int, b: int) -> float:
        """Change of the objective when u (in a) and v (in b) trade places."""
        self.work += 1
        dw, dh, dp = self.w[u] - self.w[v], self.h[u] - self.h[v], self.p[u] - self.p[v]
        before = self.rcost[a] + self.rcost[b]
        after = self.cost(self.load[a] - dw, self.hh[a] - dh, self.pop[a] - dp) + self.cost(
            self.load[b] + dw, self.hh[b] + dh, self.pop[b] + dp
        )
        if after >= before:
            return 0.0  # swaps are for balance: one that does not improve it is not tried
        cut = 0.0
        if self.gamma:
            labels = self.labels
            labels[u] = b  # measure v's edges as they will be once u has moved
            cut = self._cut(u, a, b, skip=-1) + self._cut(v, b, a, skip=u)
            labels[u] = a
            # An edge between u and v stays cut after the trade; _cut counted it as joined.
            cut += self.adj[u].get(v, 0.0)
        return after - before + self.gamma * cut

    def _cut(self, u: int, a: int, b: int, skip: int) -> float:
        cut = 0.0
        for v, length in self.adj[u].items():
            if v == skip:
                continue
            if self.labels[v] == a:
                cut += length
            elif self.labels[v] == b:
                cut -= length
        return cut

    def connected(self, region: set[int]) -> bool:
        """Is a set of nodes connected in the graph?"""
        if not region:
            return False
        start = next(iter(region))
        seen = {start}
        stack = [start]
        while stack:
            x = stack.pop()
            for v in self.adj[x]:
                if v in region and v not in seen:
                    seen.add(v)
                    stack.append(v)
        return len(seen) == len(region)

    def try_swap(self, r: int) -> tuple[int, int] | None:
        """The best improving swap between region r and a neighbour that keeps both connected."""
        labels = self.labels
        found: list[tuple[float, int, int, int]] = []
        border: dict[int, set[int]] = {}
        for u in self.members[r]:
            for v in self.adj[u]:
                if labels[v] != r:
                    border.setdefault(labels[v], set()).add(u)
        for s, mine in border.items():
            theirs = {v for u in mine for v in self.adj[u] if labels[v] == s}
            for u in mine - {self.tabu}:
                for v in theirs - {self.tabu}:
                    d = self.swap_delta(u, r, v, s)
                    if d < -1e-9:
                        found.append((d, u, v, s))
        found.sort()
        for d, u, v, s in found:
            mine_after = (self.members[r] - {u}) | {v}
            theirs_after = (self.members[s] - {v}) | {u}
            if self.connected(mine_after) and self.connected(theirs_after):
                self.apply(u, r, s, d)
                self.apply(v, s, r, 0.0)
                return r, s
        return None

    def run(self, budget: int, kicks: int, rng: np.random.Generator) -> None:
        """Descend to a local minimum, then try `kicks` rounds of perturbation on bad regions."""
        cost = [self.region_cost(r) for r in range(self.k)]
        self.descend(sorted(range(self.k), key=lambda r: (-cost[r], r)), budget)
        for _ in range(kicks):
            cost = [self.region_cost(r) for r in range(self.k)]
            bad = sorted((r for r in range(self.k) if cost[r] > _BAD), key=lambda r: (-cost[r], r))
            if not bad:
                break
            for r in bad:
                self.try_kick(r, rng)

    def region_cost(self, r: int) -> float:
        return self.cost(self.load[r], self.hh[r], self.pop[r])

    def descend(self, regions: Sequence[int], budget: int) -> int:
        """Apply improving moves (single, else swaps) until none is left or the budget is spent."""
        queue = deque(regions)
        queued = [False] * self.k
        for r in regions:
            queued[r] = True
        moves = 0
        while queue and moves < budget:
            r = queue.popleft()
            queued[r] = False
            touched: tuple[int, ...] = ()
            for d, node, a, b in self.candidates(r):
                if self.stays_connected(node, a):
                    self.apply(node, a, b, d)
                    touched = (r, a, b)
                    break
            else:
                # No single move helps: trading two units moves a finer amount of load.
                touched = self.try_swap(r) or ()
            if touched:
                moves += 1
            for x in touched:
                if not queued[x]:
                    queued[x] = True
                    queue.append(x)
        return moves

    def try_kick(self, r: int, rng: np.random.Generator) -> None:
        """Iterated local search step: force one move at region r, descend, keep it if better.

        A single forced move lets load travel through a neighbour that is itself balanced,
        which plain descent never does (the first step of such a chain is uphill).
        """
        start = self.objective
        self.log = []
        if self.kick(r, rng):
            self.tabu = self.log[0][0]
            self.descend([r, *self.neighbour_regions(r)], _KICK_BUDGET)
            self.tabu = -1
            if self.objective >= start - 1e-12:
                for node, a, b in reversed(self.log):
                    self.apply(node, b, a, 0.0)
                self.objective = start
        self.log = None

    def neighbour_regions(self, r: int) -> list[int]:
        labels = self.labels
        return sorted({labels[v] for u in self.members[r] for v in self.adj[u]} - {r})

    def kick(self, r: int, rng: np.random.Generator) -> bool:
        """Move a random border node out of a heavy region r, or into a light one."""
        labels = self.labels
        heavy = self.load[r] > self.target
        pairs = sorted((u, v) for u in self.members[r] for v in self.adj[u] if labels[v] != r)
        if not pairs:
            return False
        for i in rng.permutation(len(pairs)).tolist()[:4]:
            u, v = pairs[i]
            node, a, b = (u, r, labels[v]) if heavy else (v, labels[v], r)
            if self.stays_connected(node, a):
                self.apply(node, a, b, self.delta(node, a, b, exact=True))
                return True
        return False
