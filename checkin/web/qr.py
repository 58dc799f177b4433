"""QR codes as small, crisp SVG: one path of dark runs on a white square, quiet zone included."""

from __future__ import annotations

import base64

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4


def qr_svg(data: str, *, title: str = "QR code") -> str:
    """An SVG of `data` as a QR code (error correction M), scalable to any size without blurring."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the quiet zone
    size = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            runs.append(f"M{start},{y}h{x - start}v1h-{x - start}z")
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size * 8}" '
        f'height="{size * 8}" shape-rendering="crispEdges" role="img"><title>{safe_title}</title>'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{"".join(runs)}"/></svg>'
    )


def svg_data_url(svg: str) -> str:
    """The SVG as a data: URL an <img> can show under the page's content security policy."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
