"""``python -m renown.migrations MESSAGE``: autogenerate the next revision from the models."""

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from renown.appdb import alembic_config, migrate


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        migrate(engine)  # the schema at the current head
        with engine.begin() as connection:
            config = alembic_config(connection)
            command.revision(config, message=sys.argv[1], autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    main()
