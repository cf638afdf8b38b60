"""A browser session over HTTPS: headless Chromium signs in to a studyvault that serves TLS
itself with a throwaway certificate (trusted here by ignoring certificate errors), and the
session cookie it gets is Secure, HttpOnly, SameSite=Strict and __Host- prefixed; every answer
carries HSTS.

Usage: tls_check.py HTTPS_BASE_URL OWNER_TOKEN SHOTS
Prints one line per passed check; exits non-zero at the first failure, naming it."""

import http.client
import os
import ssl
import sys
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from pages import check, page_left


def main(base, token, shots):
    check("the server is reached over https", base.startswith("https://"))
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPSConnection(url.hostname, url.port,
                                       context=ssl._create_unverified_context())
    conn.request("GET", "/")
    reply = conn.getresponse()
    check("the sign-in page answers over TLS", reply.status == 200)
    check("with HSTS", "max-age=" in (reply.getheader("Strict-Transport-Security") or ""))

    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--ignore-certificate-errors", "--window-size=1280,900"]:
        o.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    try:
        driver.get(base + "/")
        check("the sign-in page in the browser", "Sign in" in driver.title)
        driver.find_element(By.ID, "token").send_keys(token)
        old = driver.find_element(By.TAG_NAME, "html")
        next(b for b in driver.find_elements(By.CSS_SELECTOR, "button[type=submit]")
             if b.text.strip() == "Sign in").click()
        WebDriverWait(driver, 30).until(page_left(old))
        check("signed in over https", driver.current_url.endswith("/studies"))
        os.makedirs(shots, exist_ok=True)
        driver.save_screenshot(os.path.join(shots, "tls-studies.png"))
        cookies = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
        session = [c for c in cookies if c["name"] == "__Host-sv-session"]
        check("a __Host- session cookie", len(session) == 1)
        c = session[0]
        check("Secure", c["secure"])
        check("HttpOnly", c["httpOnly"])
        check("SameSite=Strict", c.get("sameSite") == "Strict")
        check("scripts cannot read it", "sv-session" not in driver.execute_script(
            "return document.cookie"))
    finally:
        driver.quit()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except AssertionError as e:
        print(f"FAILED: {e}")
        sys.exit(1)
