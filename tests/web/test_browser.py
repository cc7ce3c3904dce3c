"""The telecom's "Going abroad?" page in a real headless Chromium (Debian's `chromium`, driven
by Playwright for Python through `executable_path`; no browser download): the plan with its
four components, the flight the customer holds, the switch to Chinese, booking in one step
and the order followed live to CONFIRMED with every partner's reference — through the real
page backend (token exchange), a real Envoy and the real gateway. A screenshot per step is
saved in the test's temporary directory.

`.ci/run` installs `chromium` when it is missing, so this runs in CI; without the browser it
fails rather than skips there."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from gateway.client.journeys import (
    HeldProduct,
    TripPlan,
    compose_request,
    direct_sale_quote,
    traveller_message,
)
from gateway.runtime import RunningGateway
from gateway.web import CustomerPage, customer_context
from tests.auth.sessions import claims_of
from tests.support import SandboxControl, secret_of
from tests.web.conftest import PAGE_PARTNER

CHROMIUM = Path(os.environ.get("PSG_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HELD_AIRLINE = "airline-a"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Generous for a loaded two-core machine: the saga asks three partners twice.
STEP_TIMEOUT_MS = 30_000

# WCAG 2.1 contrast of every visible text against the first opaque background behind it.
CONTRAST_JS = """
() => {
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const node of document.querySelectorAll("body *")) {
    const own = [...node.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || node.closest("[hidden]") || !node.getClientRects().length) continue;
    const style = getComputedStyle(node);
    const fg = lum(rgb(style.color)), bg = lum(background(node));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${node.tagName}.${node.className}: ${ratio.toFixed(2)}`);
    }
  }
  return failures;
}
"""

# Everything wider than the viewport, at the current width.
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter((n) => n.getClientRects().length && n.getBoundingClientRect().right > width + 0.5)
    .map((n) => `${n.tagName}#${n.id}.${n.className}`);
  return { width, scrollWidth: document.documentElement.scrollWidth, wide };
}
"""


def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found is None:
        message = "Chromium is not installed: `apt-get install -y chromium` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Path(found)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile per test (its own --user-data-dir)."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),
            executable_path=str(chromium()),
            headless=True,
            args=CHROMIUM_ARGS,
            locale="en-US",
            viewport={"width": 1024, "height": 900},
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def page_url(
    customer_page: tuple[CustomerPage, str], control: SandboxControl, quiet: SandboxControl
) -> str:
    """The page, for a customer whose roaming is on and who bought the flight directly."""
    plan = TripPlan.sample(datetime.now(UTC).date())
    reference = await control.sell(HELD_AIRLINE, direct_sale_quote("airline", plan))
    held = [HeldProduct(HELD_AIRLINE, reference)]
    page, url = customer_page
    page.customer = customer_context(
        compose_request("roaming", plan, PAGE_PARTNER, held=held),
        [traveller_message(p, documents=True) for p in plan.travellers],
    )
    page.customer["held_reference"] = reference  # for the test only; the page ignores it
    return url


async def open_page(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(url)
    return page, problems


async def shot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / "screenshots" / f"{name}.png"
    path.parent.mkdir(exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    return path


async def test_the_customer_sees_the_plan_switches_to_chinese_books_and_sees_every_reference(
    browser: BrowserContext,
    page_url: str,
    customer_page: tuple[CustomerPage, str],
    gateway: RunningGateway,
    tmp_path: Path,
) -> None:
    sessions: list[dict[str, Any]] = []

    async def remember(response: Any) -> None:
        if response.url.endswith("/api/session"):
            sessions.append(await response.json())

    browser.on("response", remember)
    page, problems = await open_page(browser, page_url)

    # 1. The plan: four components, the flight the customer holds, prices and totals.
    components = page.locator("#components > li")
    await expect(components).to_have_count(4)
    held = page.locator('#components > li[data-status="COMPONENT_STATUS_HELD"]')
    await expect(held).to_have_count(1)
    await expect(held).to_have_attribute("data-kind", "flight")
    await expect(held.locator(".reference")).to_have_text(
        customer_page[0].customer["held_reference"]
    )
    planned = page.locator('#components > li[data-status="COMPONENT_STATUS_OK"]')
    await expect(planned).to_have_count(3)
    for i in range(3):
        await expect(planned.nth(i).locator(".price")).to_have_text(re.compile(r"\d"))
        await expect(planned.nth(i).locator(".reason")).not_to_be_empty()
    await expect(page.locator("#totals > li").first).to_contain_text("CN¥")
    assert await page.evaluate(CONTRAST_JS) == []
    await shot(page, tmp_path, "1-plan-en")

    # 2. Chinese, chosen with the labelled control: the gateway's words and the page's own.
    await page.get_by_label("Language").select_option("zh-CN")
    await expect(page.locator("#components")).to_have_attribute("data-language", "zh-CN")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    titles = await page.locator("#components h3").all_inner_texts()
    assert len(titles) == 4
    assert all(CJK.search(t) for t in titles), titles
    reasons = await page.locator("#components .reason").all_inner_texts()
    assert all(CJK.search(r) for r in reasons), reasons
    await expect(page.locator("#totals > li").first).to_contain_text("¥")
    await expect(page.locator("#book")).to_have_text(re.compile(CJK.pattern))
    await shot(page, tmp_path, "2-plan-zh-CN")

    # 3. Book everything in one step, from the keyboard.
    await page.locator("#book").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#order-state")).to_have_attribute(
        "data-order-state", "ORDER_STATE_CONFIRMED"
    )
    await expect(page.locator("#status")).to_have_text("预订成功，所有合作伙伴均已确认。")
    rows = page.locator("#references > li")
    await expect(rows).to_have_count(3)  # the held flight is not booked again
    for i in range(3):
        await expect(rows.nth(i)).not_to_have_attribute("data-reference", "")
    shown = {await rows.nth(i).get_attribute("data-reference") for i in range(3)}
    order_id = await page.locator("#order-section").get_attribute("data-order-id")
    assert order_id
    order = await gateway.store.get_order(order_id)
    assert order is not None
    assert order.state.value == "confirmed"
    assert shown == {c.reference for c in order.components if c.reference}
    await expect(page.locator("#progress > li").first).to_be_visible()
    assert await page.locator("#progress > li").count() >= 4  # the events, as they came
    assert await page.evaluate(CONTRAST_JS) == []
    await shot(page, tmp_path, "3-booked-zh-CN")

    # The page only ever held a customer-session token, never the partner's secret.
    assert sessions
    for session in sessions:
        claims = claims_of(session["access_token"])
        assert claims["act"] == {"sub": PAGE_PARTNER}
        assert claims["sub"].startswith("cs_")
        assert claims["exp"] - claims["iat"] <= 15 * 60
        assert secret_of(PAGE_PARTNER) not in str(session)
    assert secret_of(PAGE_PARTNER) not in await page.content()
    assert problems == []


async def test_at_phone_width_nothing_overflows(
    browser: BrowserContext, page_url: str, tmp_path: Path
) -> None:
    page, problems = await open_page(browser, page_url)
    await page.set_viewport_size({"width": 375, "height": 812})
    await expect(page.locator("#components > li")).to_have_count(4)
    layout = await page.evaluate(OVERFLOW_JS)
    assert layout["width"] == 375
    assert layout["scrollWidth"] <= 375, layout
    assert layout["wide"] == [], layout
    await shot(page, tmp_path, "4-plan-375px")

    await page.get_by_label("Language").select_option("zh-CN")
    await expect(page.locator("#components")).to_have_attribute("data-language", "zh-CN")
    layout = await page.evaluate(OVERFLOW_JS)
    assert layout["scrollWidth"] <= 375, layout
    assert layout["wide"] == [], layout
    await shot(page, tmp_path, "5-plan-375px-zh-CN")
    assert problems == []
