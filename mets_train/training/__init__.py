"""Training at scale and evaluation (issue 3): `mets train`, `mets evaluate`.

    from mets_train.training import train, load_config
    train(load_config("mets_train/configs/train_default.json"), resume=False)
"""
from .config import DEFAULTS, ConfigError, load_config, make_config
from .loop import train

__all__ = ["DEFAULTS", "ConfigError", "load_config", "make_config", "train"]
