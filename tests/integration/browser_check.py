#!/usr/bin/env python3
"""browser_check.py: the consumer's pages in a real browser (headless
Chromium driven by Selenium), on a phone's viewport (390x844), in one
language: a genuine code's page, signing in on it (the phone, then the code
the local SMS command received, and consent) and the points claimed, my
points (with the share link: its copy button pressed), then a second person (another client address, through a small forwarder bound to
127.0.0.2) scanning the claimed pack: the warning with the report button,
pressed. Every page is saved as a PNG in the artifacts folder; its h1 and
its elements are checked, and the browser's console must hold no error
(a CSP violation would be one).

usage: browser_check.py BASE_URL LANG CODE ARTIFACT_DIR SMS_LOG PHONE
(SMS_LOG: where --sms-command writes "NUMBER TEXT" lines)
"""
import base64
import json
import os
import re
import time
import socket
import sys
import threading
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

BASE, LANG, CODE, OUT, SMS_LOG, PHONE = sys.argv[1:7]
EXPECT = {
    "en": {"genuine": "Genuine", "claimed": "10 points added", "points": "10 points",
           "warning": "Points already claimed", "reported": "Thank you",
           "warning_text": "if you just bought it, report it",
           "share": "Invite friends", "copy": "Copy", "copied": "Copied"},
    "zh-CN": {"genuine": "正品", "claimed": "已获得 10 积分", "points": "10 积分",
              "warning": "积分已被领取",
              "reported": "感谢您的举报", "warning_text": "如果您刚买下这件商品，请举报。",
              "share": "邀请好友", "copy": "复制", "copied": "已复制"},
    "zh-TW": {"genuine": "正品", "claimed": "已獲得 10 積分", "points": "10 積分",
              "warning": "積分已被領取",
              "reported": "感謝您的檢舉", "warning_text": "如果您剛買下這件商品，請檢舉。",
              "share": "邀請好友", "copy": "複製", "copied": "已複製"},
}[LANG]


def fail(msg):
    print(f"browser_check.py [{LANG}]: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


class Forwarder:
    """127.0.0.1:PORT -> the server, connecting from 127.0.0.2: another client address."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            up = socket.socket()
            up.settimeout(30)
            c.settimeout(30)
            up.bind(("127.0.0.2", 0))
            up.connect(self.target)
            threading.Thread(target=self.pipe, args=(c, up), daemon=True).start()
            threading.Thread(target=self.pipe, args=(up, c), daemon=True).start()

    def close(self):
        self.stop = True
        self.sock.close()
        self.thread.join(5)


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", f"--lang={LANG}"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": LANG})
    o.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0},
        "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                     "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")),
                         options=o)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def shot(d, name):
    """The whole page as a 390 px wide phone shows it, scrolled through."""
    path = os.path.join(OUT, f"{LANG}-{name}.png")
    metrics = d.execute_cdp_cmd("Page.getLayoutMetrics", {})
    height = max(844, int(metrics["cssContentSize"]["height"]))
    png = d.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 390, "height": height, "scale": 1}})
    with open(path, "wb") as f:
        f.write(base64.b64decode(png["data"]))
    print(f"browser_check.py [{LANG}]: {path}")


def submit(d, button):
    """Press a form's button and wait for the next page to be there, whole:
    a screenshot taken during the navigation may wait for a frame forever."""
    old = d.find_element(By.TAG_NAME, "html")
    button.click()

    def gone(_):
        try:
            old.is_enabled()
            return False
        except WebDriverException:  # stale, or "does not belong to the document"
            return True
    WebDriverWait(d, 30).until(gone)
    WebDriverWait(d, 30).until(
        lambda drv: drv.execute_script("return document.readyState") == "complete")


def texted_code(e164):
    """The 6 digits of the newest text to e164 the SMS command wrote down."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with open(SMS_LOG, encoding="utf-8") as f:
                lines = [x for x in f if x.startswith(e164 + " ")]
        except FileNotFoundError:
            lines = []
        if lines:
            return re.search(r"(\d{6})", lines[-1].split(" ", 1)[1]).group(1)
        time.sleep(0.1)
    fail(f"no text to {e164} in {SMS_LOG}")


def h1(d):
    return d.find_element(By.TAG_NAME, "h1").text


def check_console(d, where):
    for e in d.get_log("browser"):
        if e.get("level") == "SEVERE":
            fail(f"{where}: console error: {e.get('message')}")


def main():
    os.makedirs(OUT, exist_ok=True)
    host, port = urllib.parse.urlsplit(BASE).hostname, urllib.parse.urlsplit(BASE).port
    fwd = Forwarder((host, port))
    d = browser()
    try:
        # the buyer scans a genuine code
        d.get(f"{BASE}/c/{CODE}")
        shot(d, "1-genuine")
        if h1(d) != EXPECT["genuine"]:
            fail(f"genuine page h1: {h1(d)!r}")
        if d.find_element(By.TAG_NAME, "html").get_attribute("lang") != (
                {"en": "en", "zh-CN": "zh-CN", "zh-TW": "zh-Hant"}[LANG]):
            fail("html lang")
        phone = d.find_element(By.NAME, "phone")
        if phone.get_attribute("type") != "tel" or phone.get_attribute("inputmode") != "tel":
            fail("the phone field is not type=tel inputmode=tel")
        if not d.find_elements(By.CSS_SELECTOR, "form[action$='/claim'] input[name=csrf]"):
            fail("the form has no CSRF token")
        if d.execute_script("return document.documentElement.scrollWidth") > 390:
            fail("the page is wider than the phone")
        check_console(d, "genuine page")
        # ... signs in on the page: the phone, then the texted code and consent ...
        phone.send_keys(PHONE)
        submit(d, d.find_element(By.CSS_SELECTOR, "form[action$='/claim'] button"))
        shot(d, "2-code")
        otp = d.find_element(By.NAME, "otp")
        if otp.get_attribute("inputmode") != "numeric" or \
                otp.get_attribute("autocomplete") != "one-time-code":
            fail("the code field is not numeric / one-time-code")
        check_console(d, "code page")
        otp.send_keys(texted_code("+86" + PHONE.replace(" ", "")))
        d.find_element(By.NAME, "consent").click()
        submit(d, d.find_element(By.CSS_SELECTOR, "form[action$='/claim'] button"))
        shot(d, "3-claimed")
        if h1(d) != EXPECT["claimed"]:
            fail(f"claimed page h1: {h1(d)!r}")
        check_console(d, "claimed page")
        # ... and looks at their points
        d.get(f"{BASE}/me")
        if h1(d) != EXPECT["points"]:
            fail(f"my points h1: {h1(d)!r}")
        # ... with their share link, the same as the API's, and its copy button (the script)
        if d.find_element(By.CSS_SELECTOR, "#share h2").text != EXPECT["share"]:
            fail(f"the share card's title: {d.find_element(By.CSS_SELECTOR, '#share h2').text!r}")
        link = d.find_element(By.ID, "share-link").get_attribute("value")
        req = urllib.request.Request(f"{BASE}/api/v1/members/me/referral", headers={
            "Cookie": "; ".join(f"{c['name']}={c['value']}" for c in d.get_cookies())})
        with urllib.request.urlopen(req, timeout=10) as resp:
            api = json.loads(resp.read())["url"]
        if not re.fullmatch(r"https://[^/]+/r/[a-z2-7]{10}", link or "") or link != api:
            fail(f"the share link {link!r}, the API's {api!r}")
        copy = d.find_element(By.ID, "share-copy")
        if not copy.is_displayed() or copy.text != EXPECT["copy"]:
            fail(f"the copy button: shown {copy.is_displayed()}, {copy.text!r}")
        if d.find_element(By.ID, "share-friends").text != "0" or \
                d.find_element(By.ID, "share-earned").text != "0":
            fail("a new member's referrals are not 0 and 0")
        copy.click()
        WebDriverWait(d, 5).until(lambda _: copy.text == EXPECT["copied"])
        if d.execute_script("return document.activeElement.id") != "share-link" or \
                d.execute_script("const i = document.getElementById('share-link'); "
                                 "return i.value.substring(i.selectionStart, i.selectionEnd)") != link:
            fail("the link is not selected after the copy")
        d.find_element(By.ID, "share").location_once_scrolled_into_view
        shot(d, "4-my-points")
        check_console(d, "my points")
        # a second person, from another address, scans the claimed pack
        d.delete_all_cookies()
        d.get(f"http://127.0.0.1:{fwd.port}/c/{CODE}")
        shot(d, "5-warning")
        if h1(d) != EXPECT["warning"]:
            fail(f"second person's h1: {h1(d)!r}")
        if EXPECT["warning_text"] not in d.find_element(By.TAG_NAME, "main").text:
            fail("the warning's text")
        buttons = d.find_elements(By.CSS_SELECTOR, "form[action$='/report'] button")
        if len(buttons) != 1 or d.find_elements(By.NAME, "phone"):
            fail("the warning needs the report button and no claim form")
        check_console(d, "warning page")
        submit(d, buttons[0])
        shot(d, "6-reported")
        if h1(d) != EXPECT["reported"]:
            fail(f"reported page h1: {h1(d)!r}")
        check_console(d, "reported page")
    finally:
        d.quit()
        fwd.close()
    print(f"browser_check.py [{LANG}]: ok")


if __name__ == "__main__":
    main()
