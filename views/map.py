"""Scene map: a captioned scene (``rsic scene caption``) on its real place, tiles coloured, hover and search.

pydeck (``st.pydeck_chart``), not folium: deck.gl ships inside Streamlit, so nothing is fetched
from the web (folium loads Leaflet from a CDN), and ``map_provider=None`` draws no basemap. The
scene itself is the background, a BitmapLayer placed by its four corners in lon/lat (a UTM scene
is slightly turned on the lon/lat grid); the tiles are a PolygonLayer over it. A scene without a
CRS is drawn the same way in pixel coordinates (an OrthographicView).
"""

import math
import re
from pathlib import Path

import pydeck as pdk
import streamlit as st

from rsic_core.data.textfiles import os_error_sentence
from rsic_core.scenes.geojson import in_pixels, summary
from rsic_core.scoring.confusion import NONE
from ui import scene_cache

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
PALETTE += [(227, 119, 194), (188, 189, 34), (23, 190, 207), (255, 187, 120), (152, 223, 138), (174, 199, 232)]
PALETTE += [(255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (219, 219, 141), (158, 218, 229)]
PALETTE += [(0, 0, 128), (128, 0, 0), (0, 128, 128), (128, 128, 0), (255, 0, 255), (0, 255, 127)]  # 24: UCM has 21
GREY, HIT = (128, 128, 128), (255, 230, 0)
BY_CLASS, BY_WORD = "the class named in the caption", "a word of the caption"

st.title("Scene map")
st.caption("A whole scene captioned tile by tile (`rsic scene caption SCENE.tif --out SCENE.geojson`), drawn offline.")
typed = st.text_input(
    "Scene GeoJSON", key="map_path", placeholder="empty = the demo scene (captioned by the demo model)"
)
try:
    path = str(scene_cache.under_roots(typed)) if typed.strip() else scene_cache.demo_scene_path()
    info, tiles = scene_cache.scene_tiles(path)
except (FileNotFoundError, ValueError) as e:
    st.error(str(e))
    st.stop()
except OSError as e:  # a folder name over 255 bytes, no permission
    st.error(os_error_sentence(typed.strip(), e))
    st.stop()
st.caption(f"`{path}`: {summary({'rsic_scene': info, 'features': tiles})}")

found = scene_cache.tile_classes(path, info.get("model"))
left, middle, right = st.columns([2, 2, 1])
if found.classes:
    by = left.radio("Colour tiles by", [BY_CLASS, BY_WORD], key="map_colour_by", horizontal=True)
else:
    by = BY_WORD
    left.caption("Neither the model that wrote these captions nor the loaded dataset lists classes: colour by a word.")
word = middle.text_input("Word", key="map_word", placeholder="e.g. tanks") if by == BY_WORD else ""
query = middle.text_input("Search the captions", key="map_query", placeholder="e.g. storage tanks")
top = right.number_input("Top tiles", 1, 100, 10, key="map_top")

hits = {}
if query.strip():
    try:
        hits = {i: (rank, score) for i, rank, score in scene_cache.search(path, query, int(top))}
    except (ValueError, OSError) as e:
        st.error(str(e))
pattern = re.compile(rf"\b{re.escape(word.strip().lower())}(s|es)?\b") if word.strip() else None
colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(found.classes)}
for t, named in zip(tiles, found.named):
    t["class"] = named
    if by == BY_CLASS:
        rgb, alpha = colours.get(t["class"], GREY), 90
    else:
        found = bool(pattern and pattern.search(t["caption"].lower()))
        rgb, alpha = ((255, 127, 14), 140) if found else (GREY, 40)
    hit = hits.get(t["id"])
    t["fill"] = [*(HIT if hit else rgb), 170 if hit else alpha]
    t["line"] = [*(HIT if hit else (255, 255, 255)), 255 if hit else 90]
    t["width"] = 4 if hit else 1
    t["rank"] = f"search rank {hit[0]} (score {hit[1]:.2f})" if hit else ""

pixels = in_pixels(info)
corners = info.get("corners") or []
layers = []
scene_file = info.get("scene", "")
try:
    if scene_file and Path(scene_file).is_file():
        scene_cache.under_roots(scene_file)  # the picture only from a file the app may read
        image = scene_cache.picture(scene_file, tuple(info.get("bands") or ()))
        bounds = [corners[0][0], corners[0][1], corners[2][0], corners[2][1]] if pixels else corners
        layers.append(pdk.Layer("BitmapLayer", id="scene", image=pdk.types.String(image, quote_type=""), bounds=bounds))
    else:
        st.info(f"The scene file {scene_file or '(not named)'} is not there: tiles only.")
except (OSError, ValueError) as e:
    st.info(f"The scene picture is not shown: {e}")
layers.append(
    pdk.Layer(
        "PolygonLayer",
        id="tiles",
        data=[
            {k: t[k] for k in ("ring", "caption", "row", "col", "class", "fill", "line", "width", "rank")}
            for t in tiles
        ],
        get_polygon="ring",
        get_fill_color="fill",
        get_line_color="line",
        get_line_width="width",
        line_width_units="'pixels'",  # quoted: pydeck reads a bare string as an expression
        stroked=True,
        pickable=True,
        auto_highlight=True,
    )
)
xs, ys = [c[0] for c in corners] or [0, 1], [c[1] for c in corners] or [0, 1]
stretch = 1.0 if pixels else 1 / math.cos(math.radians(sum(ys) / len(ys)))  # Web Mercator: latitude drawn longer
span = max(max(xs) - min(xs), (max(ys) - min(ys)) * stretch) or 1.0
centre = ((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2)
if pixels:
    view = pdk.ViewState(target=[centre[0], centre[1], 0], zoom=float(math.log2(600 / span)))
    views = [pdk.View(type="OrthographicView", controller=True)]
else:
    view = pdk.ViewState(longitude=centre[0], latitude=centre[1], zoom=float(math.log2(600 * 360 / 512 / span)))
    views = None
tooltip = {"html": "<b>{caption}</b><br/>row {row}, col {col} · {class}<br/>{rank}"}
deck = pdk.Deck(layers=layers, initial_view_state=view, map_provider=None, tooltip=tooltip, views=views)
st.pydeck_chart(deck, height=640, key="map_chart")

if by == BY_CLASS:
    counts = {c: sum(t["class"] == c for t in tiles) for c in [*found.classes, NONE]}
    legend = [f"<span style='color:rgb{colours.get(c, GREY)}'>■</span> {c} ({n})" for c, n in counts.items()]
    st.markdown(" ".join(legend), unsafe_allow_html=True, help=f"Tiles coloured by {found.origin}.")
    st.caption(f"The class a caption names, among {found.origin}; grey: none, or several equally.")
if hits:
    ranked = sorted((t for t in tiles if t["id"] in hits), key=lambda t: hits[t["id"]][0])
    rows = [
        {"rank": hits[t["id"]][0], "score": f"{hits[t['id']][1]:.3f}", "row": t["row"], "col": t["col"]} for t in ranked
    ]
    st.dataframe([r | {"caption": t["caption"]} for r, t in zip(rows, ranked)], hide_index=True)
st.download_button(
    "Download the GeoJSON",
    scene_cache.file_bytes(path),
    file_name=Path(path).name,
    mime="application/geo+json",
    key="map_download",
)
