from contract_svc.db import metadata
from kit.migrations import run_env

run_env(metadata)
