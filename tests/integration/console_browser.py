#!/usr/bin/env python3
"""Drives the real console in headless Chromium (WebDriver, Debian's python3-selenium).

Called by tests/integration/console_browser.rs with the console's URLs; talks back on stdout, one
line each: "DOCK-NOW" asks the test to dock a camera (it answers "docked" on stdin),
"OK ..." reports a check, and any failure is an exception (non-zero exit).
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def say(*words):
    print(*words, flush=True)


def browser():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                "--mute-audio", "--window-size=1366,768", "--disable-gpu"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def statuses(driver, needle):
    """HTTP statuses of the responses whose URL contains needle (Chrome's network log)."""
    found = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.responseReceived":
            response = message["params"]["response"]
            if needle in response["url"]:
                found.append(response["status"])
    return found


def wait(driver, what, ready, limit=30):
    try:
        return WebDriverWait(driver, limit, poll_frequency=0.2).until(lambda d: ready(d))
    except Exception as e:
        raise AssertionError(f"{what}: not within {limit}s on {driver.current_url}") from e


def lang_of(driver):
    """The page's language, or None while a navigation replaces it."""
    try:
        return driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    except Exception:
        return None


def shot(driver, folder, name):
    if folder:
        driver.save_screenshot(f"{folder}/{name}.png")


def head(url, base, camera, by_agent, agent, place, stem, shots):
    d = browser()
    try:
        d.get(base + "/dock")
        assert "401" in d.title or "session" in d.page_source.lower(), d.page_source[:300]
        say("OK without a session: refused")
        d.get(url)
        for lang in ("fr", "en"):
            d.get(base + "/dock")
            if lang_of(d) != lang:
                d.find_element(By.CSS_SELECTOR, "header form button").click()
                wait(d, "language " + lang, lambda d: lang_of(d) == lang)
            if lang == "fr":
                assert not d.find_elements(By.CSS_SELECTOR, f'[data-camera="{camera}"]')
                say("DOCK-NOW")
                assert sys.stdin.readline().strip() == "docked"
                wait(d, "the docked camera's card, live",
                     lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-camera="{camera}"][data-state="safe"]'))
                say("OK the dock page showed the camera safe without a reload")
            shot(d, shots, f"dock-{lang}")
            d.get(base + f"/recordings?agent={agent}")
            rows = [r.get_attribute("data-recording") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-recording]")]
            assert sorted(rows) == sorted(by_agent), (rows, by_agent)
            shot(d, shots, f"recordings-{lang}")
            lat, lon = place
            d.get(base + f"/recordings?near={lat}%2C{lon}&radius=100")
            rows = [r.get_attribute("data-recording") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-recording]")]
            assert stem in rows, rows
            say(f"OK search by agent and by place ({lang})")
            d.get(base + "/extract")
            shot(d, shots, f"extract-{lang}")
            d.get(base + "/registers")
            shot(d, shots, f"registers-{lang}")
            d.get(base + "/report?from=2018-03-12&to=2018-03-14")
            shot(d, shots, f"report-{lang}")
            d.get(base + f"/recordings/{stem}")
            if lang == "fr":
                assert not d.find_elements(By.CSS_SELECTOR, "video")
                shot(d, shots, f"recording-closed-{lang}")
                d.find_element(By.NAME, "purpose").send_keys("judiciaire")
                d.find_element(By.NAME, "reason").send_keys("PV 2018/42 navigateur")
                d.find_element(By.CSS_SELECTOR, "#consult button").click()
                say("CONSULTED")
                assert sys.stdin.readline().strip() == "traced"
            video = wait(d, "the player", lambda d: d.find_elements(By.CSS_SELECTOR, f'video[data-recording="{stem}"]'))[0]
            d.execute_script("arguments[0].play()", video)
            wait(d, "readyState >= 3", lambda d: d.execute_script("return arguments[0].readyState", video) >= 3)
            t0 = d.execute_script("return arguments[0].currentTime", video)
            wait(d, "currentTime advancing", lambda d: d.execute_script("return arguments[0].currentTime", video) > t0 + 0.3)
            say(f"OK the video plays ({lang})")
            duration = d.execute_script("return arguments[0].duration", video)
            d.execute_script("arguments[0].currentTime = arguments[1]", video, duration / 2)
            wait(d, "seeked", lambda d: not d.execute_script("return arguments[0].seeking", video))
            assert 206 in statuses(d, f"/recordings/{stem}/video"), "no 206 answer to the player"
            say(f"OK the player seeks with a 206 ({lang})")
            d.execute_script("arguments[0].pause()", video)
            shot(d, shots, f"recording-{lang}")
    finally:
        d.quit()


def technician(url, base, stem, shots):
    d = browser()
    try:
        d.get(url)
        d.get(base + "/dock")
        assert d.find_elements(By.CSS_SELECTOR, "[data-camera]"), d.page_source[:500]
        d.get(base + f"/recordings/{stem}")
        refused = d.find_elements(By.CSS_SELECTOR, 'p.error[data-refused="true"]')
        assert refused, d.page_source[:500]
        shot(d, shots, "technician-refused-fr")
        say("OK a technician sees the dock and is refused a recording")
    finally:
        d.quit()


def rows_of(driver):
    return [r.get_attribute("data-recording") for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-recording]")]


def submit(driver, form):
    before = driver.current_url
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, "the answer to the form", lambda d: d.current_url != before or d.find_elements(By.CSS_SELECTOR, "p.error"))


def set_value(driver, element, value):
    driver.execute_script("arguments[0].value = arguments[1]", element, value)


def local(url, base, inside, outside, place, place_stem, far, stem, shots):
    """Dates are local days, places are typed the French way or chosen by name, the
    extraction form shows its purpose's fields and the server wants a requisition date."""
    d = browser()
    try:
        d.get(url)
        for lang in ("fr", "en"):
            d.get(base + "/recordings")
            if lang_of(d) != lang:
                d.find_element(By.CSS_SELECTOR, "header form button").click()
                wait(d, "language " + lang, lambda d: lang_of(d) == lang)
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            set_value(d, form.find_element(By.NAME, "from"), "2026-11-30")
            set_value(d, form.find_element(By.NAME, "to"), "2026-12-06")
            submit(d, form)
            rows = rows_of(d)
            assert inside in rows and outside not in rows, (rows, inside, outside)
            say(f"OK the week 30/11..06/12 is Paris days ({lang})")
            shot(d, shots, f"search-days-{lang}")

            d.get(base + "/recordings")
            assert d.find_elements(By.CSS_SELECTOR, f'datalist#places option[value="{place}"]'), d.page_source[:2000]
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            form.find_element(By.NAME, "near").send_keys(place)
            submit(d, form)
            rows = rows_of(d)
            assert place_stem in rows, rows
            shot(d, shots, f"search-place-{lang}")
            d.get(base + "/recordings")
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            form.find_element(By.NAME, "near").send_keys(far)
            submit(d, form)
            assert rows_of(d) == [] and d.find_elements(By.ID, "no-result"), rows_of(d)
            d.get(base + "/recordings")
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            form.find_element(By.NAME, "near").send_keys("45,0463 5,0599")
            submit(d, form)
            assert place_stem in rows_of(d), rows_of(d)
            say(f"OK a named place and a French decimal point filter the search ({lang})")

            d.get(base + "/extract")
            purpose = Select(d.find_element(By.NAME, "purpose"))
            judicial = d.find_element(By.CSS_SELECTOR, 'fieldset[data-purpose="judicial"]')
            other = d.find_element(By.CSS_SELECTOR, 'fieldset[data-purpose="other"]')
            assert not judicial.is_displayed() and not other.is_displayed(), "no purpose chosen yet"
            purpose.select_by_value("administrative")
            assert other.is_displayed() and not judicial.is_displayed()
            purpose.select_by_value("judicial")
            assert judicial.is_displayed() and not other.is_displayed()
            marks = judicial.find_elements(By.CSS_SELECTOR, "abbr.required")
            assert len(marks) == 3, len(marks)
            say(f"OK the form shows only the chosen purpose's fields, required ones marked ({lang})")
            shot(d, shots, f"extract-judicial-{lang}")

            form = d.find_element(By.ID, "extract")
            form.find_element(By.NAME, "recordings").send_keys(stem)
            form.find_element(By.NAME, "requisition").send_keys(f"PV 2026/118-{lang}")
            form.find_element(By.NAME, "opj").send_keys("Dupont, Commissariat de Romans")
            # Past the browser's own check: the server must refuse too.
            d.execute_script("arguments[0].removeAttribute('required')", form.find_element(By.NAME, "date"))
            submit(d, form)
            error = wait(d, "the refusal", lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))[0].text
            expected = "date de la réquisition" if lang == "fr" else "requisition's date"
            assert expected in error, error
            say(f"OK the server refuses a judicial extraction without its date ({lang})")
            shot(d, shots, f"extract-no-date-{lang}")

            d.get(base + f"/extract?purpose=judicial&recording={stem}")
            form = d.find_element(By.ID, "extract")
            form.find_element(By.NAME, "requisition").send_keys(f"PV 2026/118-{lang}")
            set_value(d, form.find_element(By.NAME, "date"), "2026-11-20")
            form.find_element(By.NAME, "opj").send_keys("Dupont, Commissariat de Romans")
            submit(d, form)
            done = wait(d, "the bag", lambda d: d.find_elements(By.ID, "extracted"))[0]
            handover = d.find_element(By.ID, "handover").text
            words = ("Copier sur un support amovible", "procès-verbal") if lang == "fr" else ("Copying to removable media", "record")
            assert all(w in handover for w in words), handover
            say(f"OK bag {done.get_attribute('data-bag')} ({lang})")
            shot(d, shots, f"extract-done-{lang}")

            d.get(base + f"/recordings/{stem}")
            scale = d.find_elements(By.CSS_SELECTOR, "svg.track g.legend g.scale text")
            north = d.find_elements(By.CSS_SELECTOR, "svg.track g.legend g.north path")
            assert scale and north, d.page_source[:2000]
            label = scale[0].text
            assert label.endswith(" m") or label.endswith(" km"), label
            say(f"OK the track has a scale bar ({label}) and a north arrow ({lang})")
            shot(d, shots, f"recording-track-{lang}")
    finally:
        d.quit()


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    if args["who"] == "local":
        local(args["url"], args["base"], args["inside"], args["outside"], args["place"],
              args["place_stem"], args["far"], args["stem"], args.get("shots"))
    elif args["who"] == "head":
        head(args["url"], args["base"], args["camera"], args["by_agent"], args["agent"],
             args["place"], args["stem"], args.get("shots"))
    else:
        technician(args["url"], args["base"], args["stem"], args.get("shots"))
    say("DONE")
