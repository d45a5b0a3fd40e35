"""Flask extensions, created unbound; `create_app` binds them. Imports nothing from the package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints make migrations portable between SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The base class of every model. `db.Model` is made when `db` is, so a type checker cannot use
# it as a base class; it sees this class instead, the same bases as what Flask-SQLAlchemy makes
# (its Model mixin and a declarative base with `Base`'s metadata).
if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskSQLAlchemyModel

    class Model(_FlaskSQLAlchemyModel, Base):
        __abstract__ = True

else:
    Model = db.Model

migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
login = LoginManager()
babel = Babel()
# Counted per client address, request.remote_addr: behind NKHR_TRUSTED_PROXIES proxies the
# client's own (ProxyFix, see ops.py), never an X-Forwarded-For a client sent itself.
limiter = Limiter(key_func=get_remote_address)
