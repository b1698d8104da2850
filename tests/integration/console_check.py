#!/usr/bin/env python3
"""console_check.py: the brand console in a real browser (headless Chromium
driven by Selenium), at one viewport, starting in one language (the
browser's, sent as Accept-Language) and then in the other through the
console's switch: signing in (a wrong password first), the overview whose
numbers must equal what the test computed with SQL, products and print runs
(only the SKUs and batches the account may see), the region maps, a recall
through its typed confirmation, the other pages (each must draw or show its
"not available"/"forbidden" notice, never an error), signing out. Every
page is saved as a PNG; the browser's console must hold no error but the
400/401/404 replies the test provokes (a CSP violation would be one).

usage: console_check.py BASE ARTIFACT_DIR desktop|phone LANG NAME PASSWORD EXPECT.json
EXPECT: {"overview": {"scans": N, ...}, "other": {...same for the range in
the other language run...}, "skus": ["TEA"], "batches": [ids], "recall": id or
null, "regions": {"CN-ZJ": scans, ...}, "countries": {"CN": scans, ...}}
"""
import base64
import json
import os
import re
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

BASE, OUT, VIEW, LANG, NAME, PASSWORD, EXPECT = sys.argv[1:8]
with open(EXPECT, encoding="utf-8") as f:
    X = json.load(f)
SIZE = (1366, 900) if VIEW == "desktop" else (390, 844)
WORDS = {"en": {"signin": "Sign in", "overview": "Overview", "recalled": "recalled"},
         "zh-CN": {"signin": "登录", "overview": "概览", "recalled": "已召回"}}
lang = LANG


def fail(msg):
    print(f"console_check.py [{VIEW} {lang}]: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", f"--lang={LANG}", "--hide-scrollbars",
              f"--window-size={SIZE[0]},{SIZE[1]}"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": LANG})
    if VIEW == "phone":
        o.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                         "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")),
                         options=o)
    if VIEW == "desktop":  # the page's own size, not the window's (which holds the browser's bars)
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False})
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def shot(d, name):
    """The whole page, scrolled through, at the viewport's width."""
    path = os.path.join(OUT, f"{VIEW}-{lang}-{name}.png")
    d.execute_script("window.scrollTo(0, 0)")  # the sticky top bar where it belongs
    m = d.execute_cdp_cmd("Page.getLayoutMetrics", {})
    height = min(4000, max(SIZE[1], int(m["cssContentSize"]["height"])))
    png = d.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": SIZE[0], "height": height, "scale": 1}})
    with open(path, "wb") as f:
        f.write(base64.b64decode(png["data"]))
    print(f"console_check.py [{VIEW} {lang}]: {path}")


ALLOWED = re.compile(r"Failed to load resource: the server responded with a status of (400|401|403|404)")


def check_log(d, where):
    for e in d.get_log("browser"):
        if e.get("level") == "SEVERE" and not ALLOWED.search(e.get("message", "")):
            fail(f"{where}: console error: {e.get('message')}")


def wait(d, what, cond, secs=20):
    try:
        return WebDriverWait(d, secs).until(cond)
    except Exception:
        shot(d, "failed")
        fail(f"timed out waiting for {what}")


def go(d, page):
    d.execute_script("location.hash = '#/' + arguments[0]; ", page)
    wait(d, f"the {page} page", lambda drv: drv.execute_script(
        "var m = document.getElementById('main'); return m.getAttribute('data-ready') === arguments[0] && "
        "m.getAttribute('data-page') === arguments[0]", page))
    errs = d.find_elements(By.CSS_SELECTOR, "[data-notice=error]")
    if errs:
        shot(d, f"{page}-error")
        fail(f"{page}: an error notice: {errs[0].text}")


def overview(d, want):
    go(d, "overview")
    got = {}
    for k in d.find_elements(By.CSS_SELECTOR, "[data-kpi]"):
        got[k.get_attribute("data-kpi")] = int(k.get_attribute("data-value"))
        shown = re.sub(r"[^0-9]", "", k.find_element(By.CLASS_NAME, "kpi-value").text)
        if shown != k.get_attribute("data-value"):
            fail(f"the {k.get_attribute('data-kpi')} card shows {shown}, its value is {k.get_attribute('data-value')}")
    for key, n in want.items():
        if n is None:  # not the account's to see (points spent: the group's)
            if key in got or not d.find_elements(By.CSS_SELECTOR, f"[data-kpi-none={key}]"):
                fail(f"overview {key}: shown to an account that may not see it (all: {got})")
            continue
        if got.get(key) != n:
            fail(f"overview {key}: the page says {got.get(key)}, SQL says {n} (all: {got})")
    if not d.find_elements(By.CSS_SELECTOR, "#chart-verdicts canvas"):
        fail("no chart on the overview")
    print(f"console_check.py [{VIEW} {lang}]: overview equals SQL: {got}")


def sign_in(d):
    d.get(BASE + "/console/")
    wait(d, "the sign-in form", lambda drv: drv.find_element(By.ID, "signin").is_displayed())
    h = d.find_element(By.CSS_SELECTOR, "#signin h1").text
    if h != WORDS[lang]["signin"]:
        fail(f"sign-in title '{h}' in {lang}")
    if d.execute_script("return document.documentElement.lang") != lang:
        fail("html lang is not " + lang)
    d.find_element(By.ID, "signin-name").send_keys(NAME)
    d.find_element(By.ID, "signin-password").send_keys("wrong " + PASSWORD)
    d.find_element(By.ID, "signin-submit").click()
    wait(d, "the sign-in error", lambda drv: drv.find_element(By.ID, "signin-error").is_displayed())
    shot(d, "0-signin-failed")
    d.find_element(By.ID, "signin-password").clear()
    d.find_element(By.ID, "signin-password").send_keys(PASSWORD)
    d.find_element(By.ID, "signin-submit").click()
    wait(d, "the console after signing in", lambda drv: drv.find_element(By.ID, "shell").is_displayed())


def pages(d, want, first):
    overview(d, want)
    shot(d, "1-overview")
    go(d, "products")
    skus = sorted(e.get_attribute("data-sku") for e in d.find_elements(By.CSS_SELECTOR, "[data-sku]"))
    if skus != sorted(X["skus"]):
        fail(f"products page shows {skus}, the account may see {X['skus']}")
    for e in d.find_elements(By.CSS_SELECTOR, "[data-product][data-counter=scans]"):
        sku = e.get_attribute("data-product")
        if int(e.get_attribute("data-value")) != X["product_scans"][sku]:
            fail(f"{sku} scans {e.get_attribute('data-value')}, SQL {X['product_scans'][sku]}")
    shot(d, "2-products")
    go(d, "regions")
    for sel in ("#map-china canvas", "#map-world canvas"):
        if not d.find_elements(By.CSS_SELECTOR, sel):
            fail(f"no map: {sel}")
    cn = {e.get_attribute("data-region"): int(e.get_attribute("data-scans"))
          for e in d.find_elements(By.CSS_SELECTOR, "#regions-cn tr[data-region]")}
    world = {e.get_attribute("data-region"): int(e.get_attribute("data-scans"))
             for e in d.find_elements(By.CSS_SELECTOR, "#regions-world tr[data-region]")}
    if cn != X["regions"]:
        fail(f"China's provinces on the page {cn}, SQL {X['regions']}")
    cities = {e.get_attribute("data-city"): int(e.get_attribute("data-scans"))
              for e in d.find_elements(By.CSS_SELECTOR, "#regions-cn-city tr[data-city]")}
    if cities != X["cities"] or not cities:
        fail(f"China's cities on the page {cities}, SQL {X['cities']}")
    if world != X["countries"]:
        fail(f"countries on the page {world}, SQL {X['countries']}")
    # the map knows the provinces: ECharts' own model, hovered region data included
    named = d.execute_script(
        "var c = echarts.getInstanceByDom(document.getElementById('map-china'));"
        "return c.getOption().series[0].data.map(function (x) { return x.name + ':' + x.value; }).sort().join(',')")
    if not named:
        fail("the China map has no data")
    shot(d, "3-regions")
    go(d, "runs")
    batches = sorted(int(e.get_attribute("data-batch")) for e in d.find_elements(By.CSS_SELECTOR, "#runs tr[data-batch]"))
    if batches != sorted(X["batches"]):
        fail(f"print runs on the page {batches}, the account may see {X['batches']}")
    if first and X.get("recall"):
        recall(d, X["recall"])
    campaigns(d, first)
    go(d, "counterfeit")
    if not d.find_elements(By.CSS_SELECTOR, "#suspicious tbody tr td .reason"):
        fail("no suspicious code with its reason")
    if first and X.get("ack"):
        d.find_element(By.CSS_SELECTOR, f"[data-ack='{X['ack']}']").click()
        wait(d, f"alert {X['ack']} acknowledged", lambda drv: not drv.find_elements(
            By.CSS_SELECTOR, f"[data-ack='{X['ack']}']") and drv.find_elements(By.CSS_SELECTOR, "#alerts"))
    shot(d, "5-counterfeit")
    go(d, "members")
    if not d.find_elements(By.CSS_SELECTOR, "[data-notice]"):
        members(d)
    shot(d, "5-members")
    go(d, "audit")
    shot(d, "5-audit")
    go(d, "webhooks")
    if X.get("webhook"):
        d.execute_script("arguments[0].click()", d.find_element(By.CSS_SELECTOR, "#webhooks tbody button"))
        wait(d, "the webhook's deliveries", lambda drv: drv.find_elements(By.CSS_SELECTOR, "#deliveries tbody tr td"))
        if first and not d.find_elements(By.XPATH, "//*[@id='deliveries']//td[contains(., 'batch.recalled')]"):
            fail("the recall's webhook delivery is not listed")
        if first:
            # deliver it again: the table is drawn anew (or a notice says why not)
            btn = d.find_element(By.CSS_SELECTOR, "#deliveries tbody button.replay")
            d.execute_script("arguments[0].click()", btn)

            def redrawn(drv):
                try:
                    btn.is_displayed()
                    return bool(drv.find_elements(By.CSS_SELECTOR, "[data-notice]"))
                except StaleElementReferenceException:
                    return True
            wait(d, "the delivery replayed", redrawn)
            if d.find_elements(By.CSS_SELECTOR, "[data-notice]"):
                fail("replaying the delivery: " + d.find_element(By.CSS_SELECTOR, "[data-notice]").text)
    shot(d, "5-webhooks")
    go(d, "exports")
    if first and not d.find_elements(By.CSS_SELECTOR, "[data-notice]"):
        export_job(d)
    shot(d, "5-exports")


def campaign_rows(d):
    return {int(e.get_attribute("data-campaign-row")): e for e in d.find_elements(By.CSS_SELECTOR, "#campaigns tr[data-campaign-row]")}


def text(e):
    """An element's text as the DOM has it (.text follows the layout: a wrapped cell reads with a newline)."""
    return e.get_attribute("textContent")


# in the page itself: the list is drawn anew meanwhile, and a row Selenium
# holds may go stale between two calls
MADE = """var m = document.getElementById('main'), ended = arguments[0];
return m.getAttribute('data-ready') === 'campaigns' &&
  Array.prototype.some.call(document.querySelectorAll('#campaigns tr[data-campaign-row]'), function (r) {
    return r.textContent.indexOf('Browser campaign') >= 0 && (!ended || !r.querySelector('button.end-campaign'));
  });"""


def campaigns(d, first):
    """The campaigns the account may see, one's burn-down and masked winners;
    with the campaigns scope, one made in the editor and ended."""
    go(d, "campaigns")
    made = [i for i, e in campaign_rows(d).items() if "Browser campaign" in text(e)]
    rows = sorted(set(campaign_rows(d)) - set(made))
    if rows != sorted(X["campaigns"]):
        fail(f"campaigns on the page {rows}, the account may see {X['campaigns']}")
    if bool(d.find_elements(By.ID, "new-campaign")) != X["make_campaign"]:
        fail("the New campaign button is " + ("missing" if X["make_campaign"] else "shown without the campaigns scope"))
    row = campaign_rows(d)[X["campaign"]]
    d.execute_script("arguments[0].click()", row.find_element(By.CSS_SELECTOR, "button.show-campaign"))
    wait(d, "the campaign's winners", lambda drv: drv.find_elements(By.CSS_SELECTOR, "#campaign-winners tbody tr td")
         and drv.find_elements(By.CSS_SELECTOR, "#chart-burndown canvas"))
    # its red packet: the payouts requested and the budget left, as SQL says, and the budget's burn-down
    wait(d, "the campaign's payouts", lambda drv: drv.find_elements(By.CSS_SELECTOR, "#payouts tbody tr[data-payout]")
         and drv.find_elements(By.CSS_SELECTOR, "#chart-budget canvas"))
    req = text(d.find_element(By.CSS_SELECTOR, "#payouts tr[data-payout=requested] td.num"))
    left = d.find_element(By.CSS_SELECTOR, "[data-kpi=budget_left]").get_attribute("data-value")
    if req != str(X["payouts"]["requested"]) or left != str(X["payouts"]["left"]):
        fail(f"the red packet: {req} requested, {left} left; SQL: {X['payouts']}")
    winners = d.find_elements(By.CSS_SELECTOR, "#campaign-winners tbody tr")
    if len(winners) != X["winners"] or any("***" not in text(w) for w in winners):
        fail(f"winners: {[text(w) for w in winners]}, want {X['winners']}, masked")
    left = text(d.find_element(By.CSS_SELECTOR, "#campaign-prizes tbody tr"))
    # the referral flags' card: drawn (this seed has none), or a notice for an account without the scope
    if not d.find_elements(By.CSS_SELECTOR, "#referral-flags"):
        fail("no referral flags' table")
    shot(d, "4-campaign")
    if not (first and X["make_campaign"]):
        return
    d.find_element(By.ID, "new-campaign").click()
    wait(d, "the campaign editor", lambda drv: drv.find_element(By.ID, "campaign-form").is_displayed())
    d.find_element(By.ID, "cf-name").send_keys("Browser campaign")
    d.find_element(By.ID, "cf-multiplier").clear()
    d.find_element(By.ID, "cf-multiplier").send_keys("1.5")
    d.find_element(By.CSS_SELECTOR, "#cf-tiers .tier-name").send_keys("Cup")
    d.find_element(By.CSS_SELECTOR, "#cf-tiers .tier-count").send_keys("5")
    d.find_element(By.CSS_SELECTOR, "#cf-tiers .tier-ppm").send_keys("1000")
    # a cash red packet of ¥1.88 a claim from a budget of ¥100 (in fen: 188 and 10000)
    d.find_element(By.ID, "cf-rp_min").send_keys("1.88")
    d.find_element(By.ID, "cf-rp_budget").send_keys("100")
    # a refusal first: the API's message shown, nothing made
    d.find_element(By.ID, "cf-regions").send_keys("Zhejiang")
    shot(d, "4-campaign-editor")
    d.execute_script("arguments[0].click()", d.find_element(By.ID, "cf-submit"))
    wait(d, "the refusal", lambda drv: drv.find_elements(By.CSS_SELECTOR, "#campaign-form-msg [data-notice]"))
    d.find_element(By.ID, "cf-regions").clear()
    d.find_element(By.ID, "cf-regions").send_keys("CN-ZJ")
    d.execute_script("arguments[0].click()", d.find_element(By.ID, "cf-submit"))
    wait(d, "the campaign made", lambda drv: drv.execute_script(MADE, False))
    new = [e for e in campaign_rows(d).values() if "Browser campaign" in text(e)][0]
    if "×1.5" not in text(new) or "CN-ZJ" not in text(new) or "Cup 5/5" not in text(new) or "¥1.88" not in text(new):
        fail(f"the campaign made reads: {text(new)}")
    # its reconciliation: the budget as typed, in fen, all of it left, adding up
    d.execute_script("arguments[0].click()", new.find_element(By.CSS_SELECTOR, "button.show-campaign"))
    wait(d, "the red packet's payouts", lambda drv: drv.find_elements(By.CSS_SELECTOR, "#payouts tbody tr[data-payout]")
         and drv.find_elements(By.CSS_SELECTOR, "#chart-budget canvas"))
    got = {k: d.find_element(By.CSS_SELECTOR, f"[data-kpi={k}]").get_attribute("data-value") for k in ("budget", "budget_left")}
    if got != {"budget": "10000", "budget_left": "10000"} or text(d.find_element(By.ID, "payouts-balanced")) != "✓":
        fail(f"the red packet's reconciliation: {got}, balanced {text(d.find_element(By.ID, 'payouts-balanced'))}")
    shot(d, "4-campaign-payouts")
    new = [e for e in campaign_rows(d).values() if "Browser campaign" in text(e)][0]
    btn = new.find_element(By.CSS_SELECTOR, "button.end-campaign")
    d.execute_script("arguments[0].click()", btn)
    d.execute_script("arguments[0].click()", btn)
    wait(d, "the campaign ended", lambda drv: drv.execute_script(MADE, True))
    shot(d, "4-campaign-ended")
    print(f"console_check.py [{VIEW} {lang}]: campaigns {rows}; winners masked; first tier {left!r}; one made and ended")


def members(d):
    """The insights endpoints are there: segments, a search by phone, a timeline."""
    segs = sorted(e.get_attribute("data-segment") for e in d.find_elements(By.CSS_SELECTOR, "[data-segment]"))
    if segs != ["lapsed", "new", "repeat", "top"]:
        fail(f"segments on the page: {segs}")
    if not X.get("phone"):
        return
    d.find_element(By.ID, "member-phone").send_keys(X["phone"])
    d.find_element(By.CSS_SELECTOR, "#member-phone + button").click()
    wait(d, "the member found", lambda drv: drv.find_elements(By.CSS_SELECTOR, "#member-results tbody button"))
    # a script's click: on the phone the button sits in a table scrolled sideways
    d.execute_script("arguments[0].click()", d.find_element(By.CSS_SELECTOR, "#member-results tbody button"))
    wait(d, "the member's timeline", lambda drv: drv.find_elements(By.CSS_SELECTOR, ".timeline tbody tr td"))


def export_job(d):
    """Export jobs are there: one started from the form runs to its download link."""
    before = len(d.find_elements(By.CSS_SELECTOR, "#export-jobs a.button"))
    d.find_element(By.CSS_SELECTOR, ".inline-form button[type=submit]").click()
    wait(d, "the export job's download link", lambda drv: len(drv.find_elements(
        By.CSS_SELECTOR, "#export-jobs a.button")) > before, 40)


def recall(d, b):
    d.find_element(By.CSS_SELECTOR, f"[data-recall='{b}']").click()
    wait(d, "the recall dialog", lambda drv: drv.find_element(By.ID, "confirm").is_displayed())
    label = d.find_element(By.ID, "confirm-type-label").text
    phrase = re.search(r"([A-Z0-9]+-\d+)", label).group(1)
    if not phrase.endswith(f"-{b}"):
        fail(f"the confirmation asks for '{phrase}'")
    ok = d.find_element(By.ID, "confirm-ok")
    d.find_element(By.ID, "confirm-reason").send_keys("browser test: lab result")
    d.find_element(By.ID, "confirm-typed").send_keys(phrase[:-1])
    if ok.is_enabled():
        fail("recall enabled before the batch was typed whole")
    shot(d, "4-recall-typing")
    d.find_element(By.ID, "confirm-typed").send_keys(phrase[-1])
    if not ok.is_enabled():
        fail("recall still disabled with the batch typed")
    ok.click()
    wait(d, f"batch {b} recalled on the page", lambda drv: drv.find_elements(
        By.CSS_SELECTOR, f"#runs tr[data-batch='{b}'][data-status=recalled]"))
    go(d, "runs")
    st = d.find_element(By.CSS_SELECTOR, f"#runs tr[data-batch='{b}'] .badge").text
    if st != WORDS[lang]["recalled"]:
        fail(f"batch {b}'s state reads '{st}'")
    shot(d, "4-recalled")


def main():
    global lang
    os.makedirs(OUT, exist_ok=True)
    d = browser()
    try:
        sign_in(d)
        check_log(d, "signing in")
        pages(d, X["overview"], True)
        check_log(d, "pages")
        # the other language, through the switch
        other = "en" if lang == "zh-CN" else "zh-CN"
        d.find_element(By.CSS_SELECTOR, ".top .lang-switch").click()
        lang = other
        wait(d, "the switch to " + other, lambda drv: drv.execute_script(
            "return document.documentElement.lang") == other)
        go(d, "overview")
        title = d.find_element(By.ID, "page-title").text
        if title != WORDS[lang]["overview"]:
            fail(f"after the switch the title reads '{title}'")
        pages(d, X["overview"], False)
        check_log(d, "pages in " + other)
        d.find_element(By.ID, "signout").click()
        wait(d, "the sign-in form after signing out", lambda drv: drv.find_element(By.ID, "signin").is_displayed())
        d.get(BASE + "/console/#/overview")
        wait(d, "the sign-in form after a reload", lambda drv: drv.find_element(By.ID, "signin").is_displayed())
        check_log(d, "signing out")
    finally:
        d.quit()


main()
