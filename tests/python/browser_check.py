"""Drives studyvault's pages in real headless Chromium (Debian's chromium + chromedriver), as a
patient and as the people they share with: sign in, upload a folder and a zip and watch the
progress finish, previews load at full size, step through a series, share by mail, open the
mailed link in a fresh browser, use the viewer, download the de-identified zip and check it
with pydicom, revoke and see the 404, lock a passcode share, and see a share made with a
minute to live open at the start and give the 404 once that minute is over. Screenshots of
every page go to the screenshot directory.

Usage: browser_check.py BASE_URL OWNER_TOKEN FOLDER ZIP MAILDIR SHOTS DOWNLOADS EXPIRING_LINK EXPIRES_AT
(EXPIRES_AT in Unix seconds)
Prints one line per passed check; exits non-zero at the first failure, naming it."""

import email
import email.policy
import glob
import io
import os
import re
import sys
import time
import zipfile

import pydicom
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from pages import check, page_left


OWNER_EMAIL = "jane@example.org"


def browser(downloads, width=1280, height=900):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"]:
        o.add_argument(arg)
    o.add_experimental_option("prefs", {
        "download.default_directory": downloads,
        "download.prompt_for_download": False,
    })
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


class Shots:
    def __init__(self, directory):
        self.dir = directory
        self.n = 0
        os.makedirs(directory, exist_ok=True)

    def take(self, driver, name):
        self.n += 1
        path = os.path.join(self.dir, f"{self.n:02d}-{name}.png")
        # The whole page, not just the window.
        height = driver.execute_script("return document.documentElement.scrollHeight")
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, max(600, min(height + 120, 4000)))
        driver.save_screenshot(path)
        return path


def wait(driver, condition, what, timeout=60):
    try:
        return WebDriverWait(driver, timeout).until(lambda d: condition(d))
    except Exception as e:
        raise AssertionError(f"timed out waiting: {what}") from e


def images_loaded(driver, min_width):
    """Every <img> on the page has loaded, and the widths (natural) of the previews."""
    return driver.execute_script(
        """
        const imgs = Array.from(document.images).filter(i => !i.src.startsWith('data:'));
        if (!imgs.every(i => i.complete)) return null;
        return imgs.map(i => i.naturalWidth);
        """)


def form_post(driver, button_text, navigates=True):
    """Presses a form's button; waits for the next page unless the script sends the form."""
    buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, "button[type=submit]")
               if b.text.strip() == button_text or b.text.strip().startswith(button_text + " ")]
    check(f"a '{button_text}' button", len(buttons) >= 1)
    old = driver.find_element(By.TAG_NAME, "html")
    buttons[0].click()
    if navigates:
        WebDriverWait(driver, 60).until(page_left(old))


def mails(maildir):
    out = []
    for path in sorted(glob.glob(os.path.join(maildir, "new", "*"))):
        with open(path, "rb") as f:
            out.append(email.message_from_binary_file(f, policy=email.policy.default))
    return out


def mail_text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def main(base, owner_token, folder, zip_path, maildir, shots_dir, downloads, expiring_link,
         expires_at):
    shots = Shots(shots_dir)
    expires_at = float(expires_at)
    # --- a share with a minute to live opens now (and gives the 404 at the end) -----------
    early = browser(downloads)
    try:
        early.get(expiring_link)
        check("a share with a minute to live opens before it expires",
              "Open the study" in early.page_source and time.time() < expires_at)
    finally:
        early.quit()
    patient = browser(downloads)
    try:
        # --- sign in: by the mailed one-time link, then (after sign-out) by token --------
        patient.get(base + "/")
        check("the sign-in page", "Sign in" in patient.title)
        shots.take(patient, "signin")
        patient.find_element(By.ID, "email").send_keys(OWNER_EMAIL)
        form_post(patient, "Mail me a link")
        check("the check-your-mail page", OWNER_EMAIL in patient.page_source)
        shots.take(patient, "signin-check-mail")
        signin = wait(patient, lambda d: next((m for m in mails(maildir)
                                               if "/signin/link/" in mail_text(m)), None),
                      "the sign-in mail", timeout=90)
        check("the sign-in mail went to the owner", OWNER_EMAIL in signin["To"])
        signin_link = re.search(r"https?://\S+/signin/link/[0-9a-f]{64}", mail_text(signin)).group(0)
        patient.get(signin_link)
        check("opening the link does not sign in by itself",
              "/signin/link/" in patient.current_url)
        shots.take(patient, "signin-link")
        form_post(patient, "Sign in")
        wait(patient, lambda d: d.current_url.endswith("/studies"), "the study list after the link")
        check("signed in by the mailed link", "/studies" in patient.current_url)
        form_post(patient, "Sign out")
        patient.get(signin_link)
        form_post(patient, "Sign in")
        check("the sign-in link works once", "/studies" not in patient.current_url
              and "used or has expired" in patient.page_source)
        patient.get(base + "/")
        patient.find_element(By.ID, "token").send_keys(owner_token)
        form_post(patient, "Sign in")
        wait(patient, lambda d: d.current_url.endswith("/studies"), "the study list after sign-in")
        check("signed in with the record token", "/studies" in patient.current_url)

        # --- upload a folder, then a zip ------------------------------------------------
        patient.get(base + "/upload")
        shots.take(patient, "upload")
        patient.find_element(By.ID, "upload-folder").send_keys(os.path.abspath(folder))
        form_post(patient, "Upload", navigates=False)
        report = wait(patient, lambda d: d.find_element(By.CSS_SELECTOR, "[data-upload-report]")
                      .is_displayed() and d.find_element(By.CSS_SELECTOR, "[data-upload-report]"),
                      "the folder upload's report")
        bar = patient.find_element(By.ID, "upload-bar")
        check("the progress bar reached the end",
              float(bar.get_attribute("value")) == float(bar.get_attribute("max")))
        check("the status says done",
              "Done" in patient.find_element(By.CSS_SELECTOR, "[data-upload-status]").text)
        check("the folder's instances are reported stored",
              "stored" in report.text.lower())
        shots.take(patient, "upload-folder-done")
        patient.get(base + "/upload")
        patient.find_element(By.ID, "upload-files").send_keys(os.path.abspath(zip_path))
        form_post(patient, "Upload", navigates=False)
        wait(patient, lambda d: d.find_element(By.CSS_SELECTOR, "[data-upload-report]")
             .is_displayed(), "the zip upload's report")
        bar = patient.find_element(By.ID, "upload-bar")
        check("the zip upload finished",
              float(bar.get_attribute("value")) == float(bar.get_attribute("max")))
        shots.take(patient, "upload-zip-done")

        # --- the study list and previews ------------------------------------------------
        patient.get(base + "/studies")
        widths = wait(patient, lambda d: images_loaded(d, 500), "the study previews")
        check("the study list shows previews", len(widths) >= 2)
        check("every study preview is at least 500 px wide", min(widths) >= 500)
        shots.take(patient, "studies")
        study_links = [a.get_attribute("href") for a in
                       patient.find_elements(By.CSS_SELECTOR, "a[href*='/studies/']")
                       if "/series/" not in a.get_attribute("href")]
        # The series with the most previews (a multi-image series of the CD export).
        best = None
        for href in dict.fromkeys(study_links):
            patient.get(href)
            series_links = [a.get_attribute("href") for a in
                            patient.find_elements(By.CSS_SELECTOR, "a[href*='/series/']")]
            for series_href in dict.fromkeys(series_links):
                if "/view" in series_href:
                    continue
                patient.get(series_href)
                n = len(patient.find_elements(By.CSS_SELECTOR, "main img"))
                if best is None or n > best[2]:
                    best = (href, series_href, n)
        study_url, series_url, most = best
        check("a series with several images was uploaded", most > 1)
        patient.get(study_url)
        shots.take(patient, "study")
        patient.get(series_url)
        widths = wait(patient, lambda d: images_loaded(d, 500), "the series grid")
        check("the series grid shows its images at preview size", widths and min(widths) >= 500)
        shots.take(patient, "series")
        patient.get(series_url + "/view?i=1")
        image = patient.find_element(By.CSS_SELECTOR, "[data-viewer-image]")
        count = int(patient.find_element(By.ID, "viewer-slider").get_attribute("max"))
        first = image.get_attribute("src")
        shots.take(patient, "viewer")
        check("the viewer knows the series' images", count == most)
        if count > 1:
            patient.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
            wait(patient, lambda d: d.find_element(By.CSS_SELECTOR, "[data-viewer-image]")
                 .get_attribute("src") != first, "the arrow key to step")
            check("the arrow key steps to the next image",
                  "2" in patient.find_element(By.CSS_SELECTOR, "[data-viewer-n]").text)
            patient.find_element(By.CSS_SELECTOR, "a[data-viewer-prev]").click()
            check("the Previous link steps back",
                  patient.find_element(By.CSS_SELECTOR, "[data-viewer-n]").text.strip() == "1")

        # --- share by mail ----------------------------------------------------------------
        patient.get(study_url + "/share")
        shots.take(patient, "share-form")
        patient.find_element(By.ID, "share-email").send_keys("doctor@example.org")
        patient.find_element(By.ID, "share-note").send_keys("Please look at the <left> lung")
        patient.find_element(By.ID, "share-download").click()
        patient.find_element(By.ID, "share-deidentify").click()
        form_post(patient, "Create link")
        link = wait(patient, lambda d: d.find_elements(By.ID, "share-link"),
                    "the created link")[0].get_attribute("value")
        check("the share link is shown", "/s/" in link)
        check("with a QR code", len(patient.find_elements(By.CSS_SELECTOR, "svg")) >= 1)
        shots.take(patient, "share-created")

        msg = wait(patient, lambda d: next((m for m in mails(maildir)
                                            if link in mail_text(m)), None),
                   "the share mail", timeout=90)
        check("the mail went to the recipient", "doctor@example.org" in msg["To"])
        text = mail_text(msg)
        check("the mail carries the note", "Please look at the <left> lung" in text)
        check("and the expiry", "UTC" in text)
        html = msg.get_body(preferencelist=("html",)).get_content()
        check("the HTML part escapes the note", "<left>" not in html and
              ("&lt;left&gt;" in html or "&#60;left&#62;" in html))

        # A passcode share for the lockout.
        patient.get(study_url + "/share")
        patient.find_element(By.ID, "share-passcode").send_keys("right-code-42")
        form_post(patient, "Create link")
        locked_link = wait(patient, lambda d: d.find_elements(By.ID, "share-link"),
                           "the passcode share's link")[0].get_attribute("value")
        check("the passcode is never shown back",
              "right-code-42" not in patient.page_source)

        # --- the recipient, in a fresh browser -------------------------------------------
        recipient = browser(downloads, 390, 844)
        try:
            recipient.get(link)
            check("the landing page says who shared it", "Sign in" not in recipient.title)
            shots.take(recipient, "recipient-landing-phone")
            recipient.set_window_size(1280, 900)
            form_post(recipient, "Open the study")
            wait(recipient, lambda d: d.current_url.endswith("/study"), "the shared study page")
            widths = wait(recipient, lambda d: images_loaded(d, 500), "the shared previews")
            check("the shared study shows its series previews", widths and min(widths) >= 500)
            shots.take(recipient, "recipient-study")
            n = series_url.rsplit("/series/", 1)[1]
            recipient.get(f"{link}/series/{n}")
            wait(recipient, lambda d: images_loaded(d, 500), "the shared series grid")
            shots.take(recipient, "recipient-series")
            recipient.get(f"{link}/series/{n}/view?i=1")
            check("the shared viewer shows an image",
                  len(recipient.find_elements(By.CSS_SELECTOR, "[data-viewer-image]")) == 1)
            shots.take(recipient, "recipient-viewer")

            # The de-identified zip, downloaded by the browser.
            before = set(os.listdir(downloads))
            recipient.get(link + "/study")
            recipient.find_element(By.CSS_SELECTOR, "a[href$='/download.zip']").click()
            path = wait(recipient, lambda d: next(
                (os.path.join(downloads, f) for f in set(os.listdir(downloads)) - before
                 if f.endswith(".zip")), None), "the zip download", timeout=120)
            time.sleep(0.5)
            with zipfile.ZipFile(path) as z:
                dicoms = [n for n in z.namelist() if n.endswith(".dcm")]
                check("the zip holds the study's DICOM files", len(dicoms) >= 1)
                for n in dicoms:
                    ds = pydicom.dcmread(io.BytesIO(z.read(n)))
                    check(f"{n}: patient name replaced", str(ds.get("PatientName", "")) in
                          ("", "Anonymous"))
                    check(f"{n}: patient id replaced",
                          str(ds.get("PatientID", "")).startswith("ANON") or not ds.get("PatientID"))
                    check(f"{n}: no birth date", not ds.get("PatientBirthDate"))
                    check(f"{n}: marked de-identified", ds.get("PatientIdentityRemoved") == "YES")

            # Revoke in the patient's browser; the recipient's next request is refused.
            patient.get(base + "/shares")
            shots.take(patient, "shares")
            row = next(r for r in patient.find_elements(By.CSS_SELECTOR, "tbody tr")
                       if "doctor@example.org" in r.text)
            old = patient.find_element(By.TAG_NAME, "html")
            row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            WebDriverWait(patient, 60).until(page_left(old))
            row = next(r for r in patient.find_elements(By.CSS_SELECTOR, "tbody tr")
                       if "doctor@example.org" in r.text)
            check("the share is listed as revoked", "Revoked" in row.text)
            recipient.get(link + "/study")
            check("after revoke the recipient gets the 404 page",
                  "not valid" in recipient.page_source)
            shots.take(recipient, "recipient-revoked-404")
        finally:
            recipient.quit()

        # --- a passcode share locks after 5 wrong codes ----------------------------------
        guesser = browser(downloads)
        try:
            guesser.get(locked_link)
            shots.take(guesser, "passcode-landing")
            for attempt in range(5):
                guesser.find_element(By.ID, "passcode").send_keys(f"wrong-{attempt}")
                form_post(guesser, "Open the study")
                if attempt < 4:
                    check(f"wrong passcode {attempt + 1} is refused with attempts left",
                          str(4 - attempt) in guesser.page_source)
            shots.take(guesser, "passcode-locked")
            check("the fifth wrong passcode locks the link", "not valid" in guesser.page_source)
            guesser.get(locked_link)
            check("a locked link stays locked", "not valid" in guesser.page_source)
        finally:
            guesser.quit()
        patient.get(base + "/shares")
        check("the owner sees the lock", "Locked" in patient.page_source)
        shots.take(patient, "shares-after")

        # --- the share made with a minute to live: expired now, the same 404 --------------
        late = browser(downloads)
        try:
            time.sleep(max(0.0, expires_at + 1 - time.time()))
            late.get(expiring_link)
            shots.take(late, "recipient-expired-404")
            expired = late.page_source
            late.get(base + "/s/" + "0" * 64)
            check("an expired share gives the same 404 page as an unknown link",
                  "not valid" in expired and expired == late.page_source)
        finally:
            late.quit()

        # --- sign out ----------------------------------------------------------------------
        form_post(patient, "Sign out")
        patient.get(base + "/studies")
        check("signed out", "Sign in" in patient.title)
    finally:
        patient.quit()


if __name__ == "__main__":
    if len(sys.argv) != 10:
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except AssertionError as e:
        print(f"FAILED: {e}")
        sys.exit(1)
