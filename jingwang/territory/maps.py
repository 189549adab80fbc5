"""Map layers: GeoJSON features of rows with shapes, as the pages' maps draw them.

Shapes are drawn from what was stored when they were written (``Shaped.map_geojson``, simplified
to a metre), never simplified again per request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jingwang.territory.models import Grid, Shaped


def feature(row: Shaped, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": row.map_shape, "properties": properties}


def grid_feature(grid: Grid) -> dict[str, Any]:
    return feature(
        grid,
        id=grid.id,
        code=grid.code,
        name=grid.name,
        level=grid.level,
        level_label=str(grid.get_level_display()),
        population=grid.population,
        households=grid.households,
        complexity=round(grid.complexity, 2),
        url=f"/territory/grids/{grid.id}/",
    )


def collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def map_data(**layers: list[dict[str, Any]]) -> dict[str, Any]:
    """What a page's map reads (json_script): its named layers and the tile server, if any."""
    data: dict[str, Any] = {name: collection(features) for name, features in layers.items()}
    data["tiles"] = settings.MAP_TILE_URL
    return data
