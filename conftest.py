# The repository folder `gateway/` has the same name as the package inside it. pytest's
# importlib mode would register the folder as a namespace module named `gateway` while
# collecting gateway/tests; importing the real package first prevents that.
import gateway  # noqa: F401

pytest_plugins = ["kit.testing"]
