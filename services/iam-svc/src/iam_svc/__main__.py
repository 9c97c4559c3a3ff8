from kit.cli import service_main

from iam_svc.config import Settings
from iam_svc.main import MIGRATIONS_DIR, create_app

if __name__ == "__main__":
    service_main(name="iam-svc", settings_factory=Settings, create_app=create_app,
                 migrations_dir=MIGRATIONS_DIR, default_port=8101)
