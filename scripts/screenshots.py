"""Regenerate the site's screenshots in docs/screenshots/: the demo (both days), served by a real
`serumscope serve`, photographed in Debian's chromium (Playwright) on a desktop and a phone.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import httpx
from playwright.sync_api import sync_playwright

from serumscope.commands.publishing import build_demo_database
from serumscope.demo import DemoShops
from serumscope.site import SITE_DB_NAME, listing_path
from serumscope.store.database import open_db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOWCASE = "Skin Solutions C + E Serum with Ferulic Acid"
COMPARED = [SHOWCASE, "Serumtologie%", "Radiance 20%"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listing_ids(db_path: Path, names: list[str]) -> list[str]:
    db = open_db(db_path)
    try:
        return [
            db.execute(
                "select listing_id from scores where name like ? limit 1", [name]
            ).fetchone()[0]
            for name in names
        ]
    finally:
        db.close()


def pages(db_path: Path) -> list[tuple[str, str, dict]]:
    ids = listing_ids(db_path, COMPARED)
    compare = "/compare?" + "&".join(f"id={i}" for i in ids)
    return [
        ("home", "/", DESKTOP),
        ("listing", listing_path(ids[0]), DESKTOP),
        ("listing-phone", listing_path(ids[0]), PHONE),
        ("compare", compare, DESKTOP),
        ("scores", f"/{SITE_DB_NAME}/scores", DESKTOP),
    ]


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs/screenshots"))
def main(out: Path) -> None:
    """Serve the demo and save one PNG per page in OUT."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, DemoShops() as shops:
        db_path = Path(folder) / "demo.db"
        build_demo_database(shops, db_path)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "serumscope.cli", "serve", "--db", str(db_path)]
            + ["--port", str(port), "--rate-limit", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    httpx.get(base + "/-/versions.json", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name, path, viewport in pages(db_path):
                    page = browser.new_page(viewport=viewport)
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                    page.close()
                    click.echo(f"{out / name}.png  {path}")
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
