from kit.cli import service_main

from contract_svc.config import Settings
from contract_svc.main import MIGRATIONS_DIR, create_app

if __name__ == "__main__":
    service_main(name="contract-svc", settings_factory=Settings, create_app=create_app,
                 migrations_dir=MIGRATIONS_DIR, default_port=8103)
