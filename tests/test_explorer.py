"""The explorer page in headless Chromium, as a user would see it: evidence only from coded
studies, the gap map down to the quotes, keyboard use, a phone-sized screen, accessibility
(axe-core), the view in the URL, CSV download, and its hostile-label guard."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="no Chromium and ChromeDriver here (CI installs Debian's chromium "
                              "and chromium-driver)"),
]
HOSTILE = '<img src=x onerror="window.__pwned = 1; alert(1)">'
DESKTOP, PHONE = (1400, 1000), (390, 844)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                     "--hide-scrollbars",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options,
                               service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def url(store, tmp_path_factory):
    return page(store, tmp_path_factory.mktemp("explorer"))


@pytest.fixture(scope="module")
def url_with_answers(project, store, tmp_path_factory):
    from coprod_kg.build import answer_all

    answers = [a for a in answer_all(project, store) if a.query.name.startswith(("01-", "14-", "24-"))]
    return page(store, tmp_path_factory.mktemp("explorer-answers"), answers=answers)


def page(store, folder, relabel=None, answers=()):
    """Write the explorer for the project graph (optionally with hostile labels) and return its URL."""
    from coprod_kg.explorer import write_explorer
    from coprod_kg.paths import build_graph, rolled_up
    from coprod_kg.viz import gap_map_data

    graph = build_graph(store)
    gap = gap_map_data(store)
    for node, label in (relabel or {}).items():
        if node in graph:
            graph.nodes[node]["label"] = label
        if node in gap["studies"]:
            gap["studies"][node]["label"] = label
    rolled = rolled_up(graph)
    path = write_explorer(folder / "explorer.html", graph, rolled, gap, list(answers))
    return path.as_uri()


def open_at(driver, url, size=DESKTOP, fragment=""):
    driver.set_window_size(*size)
    driver.get("about:blank")
    driver.get(url + fragment)
    assert driver.execute_script("return window.coprodExplorerReady === true")


def severe_console_messages(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_page_loads_offline_without_console_errors(driver, url):
    open_at(driver, url)
    assert severe_console_messages(driver) == []
    remote = driver.execute_script(
        "return Array.from(document.querySelectorAll('[src],[href]')).map(e => e.getAttribute('src') || e.getAttribute('href'))"
        ".filter(u => /^(https?:)?\\/\\//.test(u))")
    assert remote == []


def test_a_principle_shows_only_studies_coded_with_it(driver, url, store):
    from selenium.webdriver.common.by import By

    open_at(driver, url)
    driver.find_element(By.CSS_SELECTOR, 'g.node[data-id="principle:catalysts"]').click()
    lit = {e.get_attribute("data-id") for e in driver.find_elements(By.CSS_SELECTOR, "g.node.hl")}
    assert {"principle:catalysts", "need:autonomy"} <= lit
    assert "need:competence" not in lit and "principle:networks" not in lit
    listed = {li.get_attribute("data-study") for li in
              driver.find_elements(By.CSS_SELECTOR, "#path-detail li[data-study]")}
    coded = {s["s"].value.rsplit("/", 1)[1] for s in store.query(
        "SELECT ?s WHERE { ?c <https://w3id.org/coprod-kg/ontology#codedStudy> ?s ; "
        "<https://w3id.org/coprod-kg/ontology#codedPrinciple> "
        "<https://w3id.org/coprod-kg/id/principle/catalysts> }")}
    assert listed and {s.split(":")[1] for s in listed} <= coded
    assert "study:retain-regain" not in listed  # coded only with capabilities


def test_an_outcome_group_lists_findings_and_quotes(driver, url):
    from selenium.webdriver.common.by import By

    open_at(driver, url)
    driver.find_element(By.CSS_SELECTOR, 'g.node[data-id="outcome:reduced-acute-service-use"]').click()
    panel = driver.find_element(By.ID, "path-detail").text
    assert "Croydon" in panel
    assert "Unplanned hospital visits decreased from 414 to 286." in panel  # line 602


def test_a_gap_map_cell_reaches_findings_figures_and_quotes(driver, url):
    from selenium.webdriver.common.by import By

    open_at(driver, url)
    driver.find_element(By.ID, "tab-gap").click()
    driver.find_element(By.CSS_SELECTOR, 'button[data-principle="principle:blurring-boundaries"]'
                                         '[data-group="outcome:reduced-acute-service-use"]').click()
    listed = {li.get_attribute("data-study") for li in
              driver.find_elements(By.CSS_SELECTOR, "#gap-studies > li")}
    assert "study:croydon-sun" in listed  # coded with blurring distinctions, line 129
    text = driver.find_element(By.ID, "gap-detail").text
    assert "A&E use decreased by 30 per cent" in text  # line 606
    assert "30%" in text and "report line" in text


def test_an_empty_cell_says_it_is_a_gap(driver, url, store):
    from coprod_kg.viz import empty_cells, gap_map_data
    from selenium.webdriver.common.by import By

    principle, group = empty_cells(gap_map_data(store))[0]
    open_at(driver, url)
    driver.find_element(By.ID, "tab-gap").click()
    button = driver.find_element(By.CSS_SELECTOR, f'button[data-principle="{principle}"][data-group="{group}"]')
    assert button.text == "0" and "gap" in button.get_attribute("aria-label")
    button.click()
    assert "a gap in the evidence" in driver.find_element(By.ID, "gap-detail").text


def test_filters_and_stated_only_change_the_counts(driver, url):
    from selenium.webdriver.support.ui import Select
    from selenium.webdriver.common.by import By

    open_at(driver, url)
    driver.find_element(By.ID, "tab-gap").click()

    def total():
        return sum(int(b.text) for b in driver.find_elements(By.CSS_SELECTOR, "#gap-table td.cell button"))
    everything = total()
    Select(driver.find_element(By.ID, "filter-country")).select_by_value("US")
    american = total()
    Select(driver.find_element(By.ID, "filter-country")).select_by_value("")
    driver.find_element(By.ID, "stated-only").click()
    stated = total()
    assert 0 < american < everything and 0 < stated < everything
    assert "stated=1" in driver.current_url


def test_the_view_is_kept_in_the_url(driver, url):
    from selenium.webdriver.common.by import By

    open_at(driver, url, fragment="#tab=gap&principle=principle%3Anetworks&group=outcome%3Asense-of-belonging&q=Wandsworth")
    assert driver.find_element(By.ID, "gap").is_displayed()
    assert driver.find_element(By.ID, "search").get_attribute("value") == "Wandsworth"
    assert "Wandsworth" in driver.find_element(By.ID, "gap-detail").text
    driver.find_element(By.ID, "tab-paths").click()
    assert "tab=paths" in driver.current_url


def test_csv_download_is_what_is_shown(driver, store, tmp_path):
    from selenium.webdriver.common.by import By

    from coprod_kg.build import answer_all

    answers = [a for a in answer_all(__import__("coprod_kg.project", fromlist=["Project"]).Project(
        __import__("conftest").ROOT), store) if a.query.name.startswith(("01-", "14-"))]
    open_at(driver, page(store, tmp_path, answers=answers))
    driver.find_element(By.ID, "tab-questions").click()
    csv = driver.execute_script("return window.coprodExplorer.csv('question')")
    lines = csv.strip().splitlines()
    assert lines[0].startswith("name,reported") and len(lines) == 7  # Table 1: six principles
    driver.find_element(By.CSS_SELECTOR, "#question-table th:nth-child(2) button").click()
    csv = driver.execute_script("return window.coprodExplorer.csv('question')")
    assert [line.split(",")[1] for line in csv.strip().splitlines()[1:]] == \
        ["5", "7", "10", "11", "12", "13"]  # sorted by the reported count, line 102
    driver.find_element(By.ID, "search").send_keys("Networks")
    assert len(driver.execute_script("return window.coprodExplorer.csv('question')").strip().splitlines()) == 2
    driver.find_element(By.ID, "tab-profiles").click()
    profile = driver.execute_script("return window.coprodExplorer.csv('profile')")
    assert "1 study" not in profile and "2 initiative" not in profile  # no sort keys leak


def test_keyboard_reaches_tabs_nodes_and_cells(driver, url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_at(driver, url)
    tab = driver.find_element(By.ID, "tab-paths")
    tab.send_keys(Keys.ARROW_RIGHT)
    assert driver.switch_to.active_element.get_attribute("id") == "tab-gap"
    assert driver.find_element(By.ID, "gap").is_displayed()
    driver.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    assert driver.find_element(By.ID, "paths").is_displayed()
    nodes = driver.find_elements(By.CSS_SELECTOR, "g.node")
    assert nodes and all(n.get_attribute("tabindex") == "0" and n.get_attribute("aria-label") for n in nodes)
    node = driver.find_element(By.CSS_SELECTOR, 'g.node[data-id="principle:networks"]')
    driver.execute_script("arguments[0].focus()", node)
    assert driver.switch_to.active_element.get_attribute("data-id") == "principle:networks"
    stroke = driver.execute_script(
        "return getComputedStyle(document.activeElement.querySelector('rect')).strokeWidth")
    assert stroke == "4px"  # a visible focus
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert "Networks" in driver.find_element(By.ID, "path-detail").text
    driver.find_element(By.ID, "tab-gap").click()
    cell = driver.find_element(By.CSS_SELECTOR, "#gap-table td.cell button")
    driver.execute_script("arguments[0].focus()", cell)
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert cell.get_attribute("aria-pressed") == "true"


def test_phone_layout_stacks_and_does_not_overflow(driver, url, tmp_path):
    from selenium.webdriver.common.by import By

    open_at(driver, url, PHONE)
    inner = driver.execute_script("return window.innerWidth")
    assert driver.execute_script("return document.documentElement.scrollWidth") <= inner
    figure = driver.find_element(By.CSS_SELECTOR, "#paths .figure").rect
    panel = driver.find_element(By.ID, "path-detail").rect
    assert panel["y"] >= figure["y"] + figure["height"] - 1  # stacked, not side by side
    assert panel["width"] >= inner - 40  # full width: no one-word lines
    driver.find_element(By.ID, "tab-gap").click()
    assert driver.execute_script("return document.documentElement.scrollWidth") <= inner
    driver.save_screenshot(str(tmp_path / "explorer-phone.png"))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("tab", ["paths", "gap", "questions", "profiles"])
def test_no_serious_accessibility_violations(driver, url_with_answers, size, tab):
    axe_module = pytest.importorskip("axe_selenium_python")
    from selenium.webdriver.common.by import By

    open_at(driver, url_with_answers, size)
    driver.find_element(By.ID, f"tab-{tab}").click()
    first = {"paths": "g.node", "gap": "#gap-table button", "questions": "#question-table th button",
             "profiles": "#profile th button"}[tab]
    driver.find_element(By.CSS_SELECTOR, first).click()
    axe = axe_module.Axe(driver)
    axe.inject()
    results = axe.run()
    assert len(results["passes"]) > 10  # axe-core really ran
    severe = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
              for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert severe == []


def test_text_on_coloured_boxes_meets_wcag_aa(driver, url):
    open_at(driver, url)
    ratios = driver.execute_script("""
      function lum(c) { const v = c.match(/\\d+/g).slice(0, 3).map(Number).map(x => x / 255)
        .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
      return Array.from(document.querySelectorAll('g.node')).map(g => {
        const a = lum(getComputedStyle(g.querySelector('rect')).fill), b = lum(getComputedStyle(g.querySelector('text')).fill);
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); });""")
    assert ratios and min(ratios) >= 4.5


def test_a_hostile_label_shows_as_text_and_runs_nothing(driver, store, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    open_at(driver, page(store, tmp_path, {"study:croydon-sun": HOSTILE,
                                           "outcome:reduced-acute-service-use": HOSTILE}))
    driver.find_element(By.CSS_SELECTOR, 'g.node[data-id="outcome:reduced-acute-service-use"]').click()
    driver.find_element(By.ID, "tab-gap").click()
    driver.find_element(By.CSS_SELECTOR, 'button[data-principle="principle:blurring-boundaries"]'
                                         '[data-group="outcome:reduced-acute-service-use"]').click()
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - touching the alert is the check
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.find_elements(By.TAG_NAME, "img") == []
    listed = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "#gap-studies h4")]
    assert HOSTILE in listed
    titles = driver.execute_script(
        "return Array.from(document.querySelectorAll('g.node title')).map(t => t.textContent)")
    assert HOSTILE in titles
