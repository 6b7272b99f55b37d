"""Both sides of the web pages in a real browser (headless Chromium driven by
Playwright) against the real app served by uvicorn: what a person sees.

Chromium comes from Debian (`apt-get install chromium`; `.ci/run` installs it when it is
missing). In CI (`CI=true`) a missing Chromium fails these tests; elsewhere they skip.
Screenshots of each page go to `$TICKETING_SCREENSHOTS` if set, else a temporary
directory printed at the end of the run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import Session

from settlement.processor import StoredSimulatedAcquirer
from settlement.simulated import reference_for
from tests.web.live import ANA, BO, FINANCE, PASSWORD, Live, build_days, live_app, served

CHROMIUM = Path("/usr/bin/chromium")
STATUS_403 = "the server responded with a status of 403 (Forbidden)"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class FundedAgain(StoredSimulatedAcquirer):
    """The acquirer once Bo has topped up: his declining test BIN now pays."""

    def references(self, session: Session, tokens: Sequence[str]) -> dict[str, str]:
        return {
            token: reference_for("424242", reference.split(":")[2], token)
            for token, reference in super().references(session, tokens).items()
        }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    app = live_app(tmp_path_factory.mktemp("live"))
    with served(app) as url:
        yield Live(url, app, build_days(url))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    chosen = os.environ.get("TICKETING_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    yield directory
    print(f"\nscreenshots of the web pages: {directory}")


@pytest.fixture
def problems() -> list[str]:
    """The browser console's errors (a script error, a CSP violation, a failed load)."""
    return []


@pytest.fixture
def page(browser: Browser, live: Live, problems: list[str]) -> Iterator[Page]:
    context = browser.new_context(base_url=live.url, locale="en-GB")
    opened = context.new_page()
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: problems.append(str(e)))
    yield opened
    context.close()
    assert problems == [], problems


def log_in(page: Page, email: str) -> None:
    page.goto("/web/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_rider_sees_every_cent_explained(page: Page, live: Live, shots: Path) -> None:
    first, second = live.days
    page.goto("/web/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.screenshot(path=shots / "login.png", full_page=True)
    log_in(page, ANA)
    expect(page).to_have_url(re.compile(r"/web/rider/journeys$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Journeys")
    page.get_by_label("From").fill(first.isoformat())
    page.get_by_label("to", exact=True).fill(second.isoformat())
    page.get_by_role("button", name="Show").click()
    days = page.locator("section.day")
    expect(days).to_have_count(2)
    latest = days.first  # newest first: bus, tram (transfer), evening tram
    expect(latest.locator("tr.leg")).to_have_count(3)
    expect(latest.locator("tr.leg").first).to_contain_text("Bus L3")
    expect(latest.locator("tr.leg").first).to_contain_text("1-hour ticket")
    expect(latest.locator("tr.adjustment")).to_contain_text("covered by the 1-hour ticket")
    expect(latest.locator("tr.adjustment")).to_contain_text("\u2212€1.30")
    expect(latest.locator("tfoot")).to_contain_text("€2.60")
    expect(days.last.locator("tfoot")).to_contain_text("€1.30")
    page.screenshot(path=shots / "rider-journeys.png", full_page=True)

    latest.get_by_role("link", name=re.compile("Receipt")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Charge receipt")
    expect(page.locator(".grand-total")).to_contain_text("€2.60")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.screenshot(path=shots / "rider-receipt.png", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("header.bar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.screenshot(path=shots / "rider-receipt-print.png", full_page=True)
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Charges").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody tr").first).to_contain_text("paid")
    page.screenshot(path=shots / "rider-charges.png", full_page=True)
    page.get_by_role("link", name="Cards").click()
    expect(page.locator("tbody")).to_contain_text("•••• 1111")
    expect(page.locator("pre")).to_contain_text("POST /v1/riders/me/cards")
    page.screenshot(path=shots / "rider-cards.png", full_page=True)
    page.get_by_role("link", name="Debts").click()
    expect(page.get_by_text("No debts.")).to_be_visible()

    # The same page in French, on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/web/rider/journeys?from={first}&to={second}&lang=fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("section.day").first.locator("tfoot")).to_contain_text("2,60\u00a0€")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=shots / "rider-journeys-phone-fr.png", full_page=True)


def test_a_rider_pays_a_debt_with_the_keyboard(page: Page, live: Live, shots: Path) -> None:
    log_in(page, BO)
    page.goto("/web/rider/debts")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("to pay")
    page.screenshot(path=shots / "rider-debts.png", full_page=True)
    live.app.state.settlement.override = FundedAgain()
    try:
        pay = page.get_by_role("button", name=re.compile(r"^Pay €1\.30 for "))
        pay.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_have_text("Debt paid: the card is accepted again.")
    finally:
        live.app.state.settlement.override = None
    expect(page.locator("tbody tr")).to_contain_text("paid after a decline")
    page.screenshot(path=shots / "rider-debt-paid.png", full_page=True)


def test_finance_sees_statements_chart_and_reconciliation(
    page: Page, live: Live, shots: Path
) -> None:
    first, second = live.days
    log_in(page, FINANCE)
    expect(page).to_have_url(re.compile(r"/web/finance/days$"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("closed")
    page.screenshot(path=shots / "finance-days.png", full_page=True)

    page.get_by_role("link", name=re.compile(str(second.day))).first.click()
    expect(page).to_have_url(re.compile(rf"/web/finance/days/{second}$"))
    statement = page.locator("#statement-table tbody tr")
    expect(statement).to_have_count(2)
    expect(statement.filter(has_text="divia-bus")).to_contain_text("€")
    expect(statement.filter(has_text="divia-tram")).to_be_visible()
    canvas = page.locator("#revenue-chart")
    expect(canvas).to_be_visible()
    expect(canvas).to_have_attribute("data-rendered", "2")
    chart = page.evaluate(
        """() => ({labels: window.revenueChart.data.labels,
                   sets: window.revenueChart.data.datasets.map(d => [d.label, d.data])})"""
    )
    assert chart["labels"] == [first.isoformat(), second.isoformat()]
    assert len(chart["sets"]) == 2 and all(len(values) == 2 for _, values in chart["sets"])
    assert sum(sum(values) for _, values in chart["sets"]) > 0
    painted = page.evaluate(
        """() => { const c = document.getElementById('revenue-chart');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert painted > 1000, "the chart canvas is blank"
    expect(page.locator("#reconciliation-status")).to_have_text("Reconciled: everything matches.")
    page.screenshot(path=shots / "finance-day.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the statement (CSV)").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("service_day,currency,operator_id")
    assert f"{second},EUR,divia-bus" in csv_text

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#revenue-chart")).to_have_attribute("data-rendered", "2")
    page.screenshot(path=shots / "finance-day-phone.png", full_page=True)


def test_riders_are_kept_out_of_finance_pages(page: Page, problems: list[str]) -> None:
    log_in(page, ANA)
    response = page.goto("/web/finance/days")
    assert response is not None and response.status == 403
    assert problems == [f"Failed to load resource: {STATUS_403}"]
    problems.clear()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This page is not open to your account."
    )


def test_a_dispute_from_report_to_outcome(page: Page, live: Live, shots: Path) -> None:
    """Ana reports a problem with her bus from the journeys page, finance upholds it with
    a refund, Ana reads the outcome; every form filled and sent from the keyboard."""
    _, second = live.days
    log_in(page, ANA)
    page.goto(f"/web/rider/journeys?from={second}&to={second}")
    page.get_by_role("link", name=re.compile(r"^Report a problem: Bus L3")).click()
    expect(page.get_by_role("heading", name="Report a problem with a journey")).to_be_visible()
    expect(page.locator("#report")).to_be_visible()
    page.get_by_label("Reason").select_option(label="The amount is wrong")
    page.get_by_label("Your message").fill("I was charged for the bus and the tram.")
    page.screenshot(path=shots / "rider-dispute-form.png", full_page=True)
    page.get_by_role("button", name="Send the report").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Problem reported. Finance staff will answer here."
    )
    expect(page.locator("article.dispute").first).to_contain_text("under review")
    page.get_by_role("button", name="Log out").click()

    log_in(page, FINANCE)
    page.get_by_role("link", name="Disputes").click()
    dispute = page.locator("article.dispute").first
    expect(dispute).to_contain_text("I was charged for the bus and the tram.")
    expect(dispute).to_contain_text("•••• 1111")
    page.screenshot(path=shots / "finance-disputes.png", full_page=True)
    dispute.get_by_label("Uphold and refund").check()
    dispute.get_by_label("Amount to refund (EUR)").fill("1.30")
    dispute.get_by_label("Reply to the rider").fill("Sorry: refunded.")
    dispute.get_by_role("button", name="Record the outcome").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Outcome recorded.")
    page.get_by_role("button", name="Log out").click()

    log_in(page, ANA)
    page.get_by_role("link", name="Disputes").click()
    outcome = page.locator("article.dispute").first
    expect(outcome).to_contain_text("upheld")
    expect(outcome).to_contain_text("€1.30")
    expect(outcome).to_contain_text("Sorry: refunded.")
    page.screenshot(path=shots / "rider-dispute-upheld.png", full_page=True)
