"""What the browser checks share: the pass/fail line, and waiting for a page to be left."""

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException


def check(what, condition):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def page_left(old):
    """A wait condition: `old` (the previous page's root) is gone. Chrome answers a check of a
    node from a page being replaced either "stale" or, mid-navigation, "does not belong to the
    document": both mean the page was left."""
    def left(_driver):
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise
    return left
