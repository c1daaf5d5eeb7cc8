"""The README's screenshots, taken with Debian's Chromium on a scratch copy of the demo.

    .venv/bin/python -m tests.browser.screenshots [--out docs]

writes ``screenshot-home.png`` (the home page) and ``screenshot-list.png`` (the achievement list
filtered to the high-tech field 新材料), 1280×900, as an anonymous visitor
whose browser asks for Chinese. Chinese text needs a CJK font on the machine that takes them
(Debian: ``fonts-wqy-microhei``); the platform itself needs none.
"""

import argparse
import sys
from pathlib import Path

from .demo_server import CHROMIUM, CHROMIUM_ARGS, demo_server

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1280, "height": 900}
SHOTS = {
    "screenshot-home.png": "/",
    "screenshot-list.png": "/achievements/?field=new_materials",
}


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with demo_server() as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                locale="zh-CN", timezone_id="Asia/Shanghai", viewport=VIEWPORT, base_url=base_url
            )
            page = context.new_page()
            for name, path in SHOTS.items():
                page.goto(path)
                page.wait_for_load_state("networkidle")
                page.evaluate("document.fonts.ready")
                target = out / name
                page.screenshot(path=str(target), full_page=False)
                written.append(target)
        finally:
            browser.close()
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder to write the PNG files to")
    options = parser.parse_args(argv)
    for path in take(options.out):
        print(f"{path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
