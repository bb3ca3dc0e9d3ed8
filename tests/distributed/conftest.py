"""tests/distributed shares tests/airflow's helpers (the Airflow venv, env, params, comparison)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "airflow"))
