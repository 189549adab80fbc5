"""Write the demo county's finest grids (every station's clusters) as GeoJSON for bench/locate.py.

    .venv/bin/python bench/demo_grids.py bench/data/demo-county-grids.geojson
    .venv/bin/python bench/locate.py --geojson bench/data/demo-county-grids.geojson --write

The demo's territory is generated in memory (no database, no Django), exactly as `jingwang demo`
would load it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jingwang.demo.generate import DEFAULT_SEED, Context  # noqa: E402
from jingwang.territory import demo as territory_demo  # noqa: E402


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/data/demo-county-grids.geojson")
    demo = territory_demo.generate(Context(DEFAULT_SEED, None))
    features = []
    for station in demo.stations:
        parents = {grid.parent for grid in station.grids if grid.parent}
        for grid in station.grids:
            if grid.code in parents:
                continue  # locate among the finest grids, as the app does
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": grid.code, "level": grid.level},
                    "geometry": shapely.geometry.mapping(grid.geometry),
                }
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    print(f"{len(features)} grids written to {target}")


if __name__ == "__main__":
    main()
