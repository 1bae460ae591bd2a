"""HM308: yaml.load with a loader that can build arbitrary Python objects."""

from __future__ import annotations

from pathlib import Path

from tests.audit.test_python_code_rules import assert_clean, assert_exactly_planted, messages


def test_unsafe_yaml_loads_are_reported_through_every_import_form(tmp_path: Path) -> None:
    settings = """
        import yaml
        import yaml as y
        from yaml import FullLoader, Loader, full_load, load, unsafe_load_all

        try:
            from yaml import CLoader as FastLoader
        except ImportError:
            from yaml import Loader as FastLoader


        def read(path, text, options):
            with open(path) as handle:
                yaml.load(handle, Loader=yaml.Loader)  # expect: HM308
            yaml.load(text)  # expect: HM308
            y.load(text, Loader=y.FullLoader)  # expect: HM308
            y.load(text, y.UnsafeLoader)  # expect: HM308
            load(text, Loader=Loader)  # expect: HM308
            load(text, FullLoader)  # expect: HM308
            yaml.load(text, Loader=FastLoader)  # expect: HM308
            yaml.load(text, Loader=None)  # expect: HM308
            yaml.load(text, **options)  # expect: HM308
            yaml.load_all(text)  # expect: HM308
            yaml.unsafe_load(text)  # expect: HM308
            y.full_load_all(text)  # expect: HM308
            full_load(text)  # expect: HM308
            return list(unsafe_load_all(text))  # expect: HM308
        """
    assert_exactly_planted(tmp_path, {"settings.py": settings})


def test_safe_loaders_and_their_subclasses_are_not_reported(tmp_path: Path) -> None:
    files = {
        "loaders.py": """
            import yaml


            class IncludeLoader(yaml.SafeLoader):
                pass
            """,
        "config.py": """
            import yaml
            import yaml as y
            from ruamel import yaml as ruamel_yaml
            from yaml import CSafeLoader, safe_load

            from loaders import IncludeLoader

            Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


            class ParamsLoader(IncludeLoader):
                pass


            class Strict(ParamsLoader):
                pass


            def read(text):
                yaml.safe_load(text)
                safe_load(text)
                yaml.load(text, Loader=yaml.SafeLoader)
                y.load(text, y.CSafeLoader)
                yaml.load(text, Loader=CSafeLoader)
                yaml.load(text, Loader=yaml.BaseLoader)
                yaml.load_all(text, Loader=Loader)
                yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                yaml.load(text, Loader=IncludeLoader)
                yaml.load(text, Loader=Strict)
                return ruamel_yaml.load(text)
            """,
        "round_trip.py": """
            from ruamel.yaml import YAML

            yaml = YAML()


            def read(path):
                parser = YAML(typ="safe")
                with open(path) as handle:
                    return yaml.load(handle), parser.load(handle)


            def write(path, yaml=YAML()):
                return yaml.load(path)
            """,
    }
    assert_clean(tmp_path, files)


def test_yaml_load_wrappers_are_counted_where_the_loader_is_chosen(tmp_path: Path) -> None:
    files = {
        "yaml_io.py": """
            import yaml


            def read_yaml(path, loader=yaml.SafeLoader):
                with open(path) as handle:
                    return yaml.load(handle, Loader=loader)


            def read_full(text, Loader=yaml.FullLoader):
                return yaml.load(text, Loader)  # expect: HM308
            """,
        "main.py": """
            import yaml

            from yaml_io import read_full, read_yaml

            read_yaml("a.yaml")
            read_yaml("b.yaml", loader=yaml.UnsafeLoader)  # expect: HM308
            read_full("c")
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_yaml_message_names_the_loader(tmp_path: Path) -> None:
    code = "import yaml\n\nyaml.load('a: 1', Loader=yaml.FullLoader)\nyaml.load('b: 2')\n"
    assert messages(tmp_path, {"code.py": code}) == [
        "`yaml.load` uses Loader=yaml.FullLoader, so the document can build arbitrary Python "
        "objects",
        "`yaml.load` has no Loader=yaml.SafeLoader, so the document can build arbitrary Python "
        "objects",
    ]
