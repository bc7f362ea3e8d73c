"""
A real headless Chromium for browser tests, driven by Selenium.

    class PageTests(BrowserTestCase):
        def test_page(self):
            self.browser.open("http://127.0.0.1:8080/")
            self.browser.waitFor(lambda: ..., "what we were waiting for")

One browser serves a whole test class.  Where Debian's C{chromium},
C{chromium-driver} or C{selenium} is missing, every test of the class skips and
says which one (and how to install it); a browser that is installed but fails
to start is an error, not a skip.  Selenium Manager is kept offline
(C{SE_OFFLINE=true}): the driver is the one on C{PATH}, nothing is downloaded.
Every wait is bounded (L{WAIT}); no test sleeps to pass.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.trial.unittest import SynchronousTestCase

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

#: Upper bound, in seconds, for anything a test waits for in the browser; a
#: guard against hanging tests, not a performance expectation.
WAIT = 10.0

#: The names the Chromium binary goes by (Debian's first).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Chrome's options for a test run: no window, no sandbox (tests may run as
#: root in a container), no reliance on a big /dev/shm.
CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
)

#: The text of the children of the element a CSS selector finds (an empty
#: list if nothing matches), in one round trip.
_CHILD_TEXTS = """
const parent = document.querySelector(arguments[0]);
return parent === null ? [] : Array.from(parent.children, (child) => child.textContent);
"""

T = TypeVar("T")


def missing() -> str | None:
    """
    Why no browser test can run here, or C{None} if everything is installed.

    @return: a reason naming what is missing and how to install it.
    """
    if webdriver is None:
        return "selenium is not installed (pip install 'selenium<4.52', or the test extra)"
    if chromium() is None:
        return "chromium is not installed (apt-get install chromium)"
    if shutil.which("chromedriver") is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


def chromium() -> str | None:
    """
    The path of the Chromium binary on C{PATH}, or C{None}.
    """
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path is not None:
            return path
    return None


class Browser:
    """
    A headless Chromium with bounded waits and a few page helpers.

    @ivar driver: the Selenium driver.
    """

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    @classmethod
    def start(cls) -> Browser:
        """
        Start a headless Chromium through Debian's chromedriver.

        @raise RuntimeError: if something L{missing} names is missing.
        """
        reason = missing()
        if reason is not None:
            raise RuntimeError(reason)
        os.environ["SE_OFFLINE"] = "true"
        options = webdriver.ChromeOptions()
        options.binary_location = chromium()
        for argument in CHROMIUM_ARGUMENTS:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(shutil.which("chromedriver"))
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(WAIT * 3)
        driver.set_script_timeout(WAIT)
        return cls(driver)

    def quit(self) -> None:
        """
        Close the browser and its driver.
        """
        self.driver.quit()

    def open(self, url: str) -> None:
        """
        Load C{url} (a fresh page: the previous one and its sockets are gone).
        """
        self.consoleErrors()
        self.driver.get(url)

    def waitFor(self, condition: Callable[[], T], what: str, timeout: float = WAIT) -> T:
        """
        Wait until C{condition()} returns something true, and return it.

        @param what: what is awaited, for the failure message.
        @raise AssertionError: if it has not happened within C{timeout} seconds.
        """
        try:
            return WebDriverWait(self.driver, timeout).until(lambda driver: condition())
        except TimeoutException:
            raise AssertionError(f"not within {timeout} s: {what}") from None

    def find(self, selector: str) -> WebElement:
        """
        The element a CSS selector finds (the first one).
        """
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def findAll(self, selector: str) -> list[WebElement]:
        """
        Every element a CSS selector finds.
        """
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector: str) -> str:
        """
        The C{textContent} of the element a CSS selector finds (C{""} if none).
        """
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            selector,
        )

    def childTexts(self, selector: str) -> list[str]:
        """
        The C{textContent} of each child of the element a CSS selector finds.
        """
        return self.driver.execute_script(_CHILD_TEXTS, selector)

    def waitForChild(
        self, selector: str, predicate: Callable[[str], bool], what: str, start: int = 0
    ) -> str:
        """
        Wait for a child of C{selector}, from index C{start} on, whose text
        satisfies C{predicate}; return that text.
        """

        def found() -> str | None:
            for text in self.childTexts(selector)[start:]:
                if predicate(text):
                    return text
            return None

        try:
            return self.waitFor(found, what)
        except AssertionError as e:
            raise AssertionError(
                f"{e}; {selector} has {self.childTexts(selector)[-20:]!r}"
            ) from None

    def type(self, selector: str, text: str, enter: bool = False) -> None:
        """
        Type C{text} into the element a CSS selector finds, then Enter if asked.
        """
        self.find(selector).send_keys(text + (Keys.ENTER if enter else ""))

    def click(self, selector: str) -> None:
        """
        Click the element a CSS selector finds.
        """
        self.find(selector).click()

    def alertText(self) -> str | None:
        """
        The text of an open JavaScript alert, or C{None} if there is none.
        """
        try:
            return self.driver.switch_to.alert.text
        except NoAlertPresentException:
            return None

    def consoleErrors(self) -> list[str]:
        """
        The console's errors since the last call (each call takes them).
        """
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry.get("level") == "SEVERE"
        ]


class BrowserTestCase(SynchronousTestCase):
    """
    Tests with one headless Chromium per class, in C{self.browser}; they skip,
    naming what is missing, where no browser can run.

    A subclass's C{setUpClass} calls this one's first and starts its servers
    only if C{cls.browser} is not C{None}; its C{tearDownClass} calls this
    one's last.
    """

    browser: Browser | None = None
    skipReason: str | None = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.skipReason = missing()
        cls.browser = None if cls.skipReason is not None else Browser.start()

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.browser is not None:
            cls.browser.quit()
            cls.browser = None

    def setUp(self) -> None:
        if self.skipReason is not None:
            self.skipTest(self.skipReason)
