# The repository folder `gateway/` has the same name as the package inside it. pytest's
# importlib mode would register the folder as a namespace module named `gateway` while
# collecting gateway/tests; importing the real package first prevents that.
import gateway  # noqa: F401

pytest_plugins = ["kit.testing"]

# Property tests share two cores with PostgreSQL, RabbitMQ and service processes: a slow
# example under load is not a failure (their assertions are about results, not time).
from hypothesis import settings  # noqa: E402

settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")
