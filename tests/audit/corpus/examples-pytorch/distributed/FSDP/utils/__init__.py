from .train_utils import setup, cleanup, get_date_of_run, train, validation, setup_model
