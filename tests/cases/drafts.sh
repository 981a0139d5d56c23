# Black-box drafting cases covering every reply template (see drafts-check.py).
python3 tests/cases/drafts-check.py "$PARCELBOT" tests/cases/drafts.jsonl
