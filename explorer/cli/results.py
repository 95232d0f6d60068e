"""`python -m explorer.results`: the "From 95% to 99.6%" table, from the model cards in pretrained/.

    python -m explorer.results --markdown     # the table as Markdown, for README.md
    python -m explorer.results                # the same, as plain text
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.lab import results

def _page_name(url_path: str) -> str:
    try:  # the page titles live with the UI; fall back to the path if streamlit is unavailable
        from explorer.ui.app_setup import PAGES

        return next((p.title for p in PAGES if p.url_path == url_path), url_path)
    except Exception:  # noqa: BLE001
        return url_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.results", description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for README.md)")
    parser.add_argument("--dir", type=Path, help="folder with the model cards (default: pretrained/)")
    args = parser.parse_args(argv)
    table_rows = results.rows(args.dir)
    if args.markdown:
        print(results.markdown_table(table_rows, _page_name))
        print()
        print(results.footer())
        return 0
    for row in table_rows:
        cells = results.table_cells(row, _page_name)
        print(f"{cells[1]:<58.58} claim {cells[2]:<34.34} ours {cells[3].strip('*'):<16} "
              f"{cells[4]:>9} params {cells[5]:>12}")  # fmt: skip
    return 0


