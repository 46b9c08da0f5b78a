"""Downloads keep a name that looks like a formula as text: a spreadsheet never runs it."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from dashboard.export import as_csv, as_xlsx

TABLE = (["agent", "name", "team", "rank_change", "score"],
         [["a1", '=HYPERLINK("http://example.com/x","Click")', "@SUM(A1)", -2, 71.5],
          ["a2", "Ana Lima", "+Blue", None, None],
          ["a3", "-5", "\tTabs", 0, 12.0]])


def test_a_formula_in_a_name_is_text_in_csv():
    rows = list(csv.reader(io.StringIO(as_csv(TABLE).decode("utf-8"))))
    assert rows[1] == ["a1", '\'=HYPERLINK("http://example.com/x","Click")', "'@SUM(A1)", "-2", "71.5"]
    assert rows[2] == ["a2", "Ana Lima", "'+Blue", "", ""]
    assert rows[3] == ["a3", "'-5", "'\tTabs", "0", "12.0"]


def test_a_formula_in_a_name_is_text_in_xlsx_and_numbers_stay_numbers():
    sheet = load_workbook(io.BytesIO(as_xlsx(TABLE, "agents"))).active
    cells = [[cell for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert cells[0][1].value == '\'=HYPERLINK("http://example.com/x","Click")' and cells[0][1].data_type == "s"
    assert cells[0][2].value == "'@SUM(A1)"
    assert cells[0][3].value == -2 and cells[0][3].data_type == "n"
    assert [cell.value for cell in cells[1]] == ["a2", "Ana Lima", "'+Blue", None, None]
