# Reproduction, abridged: the pipeline's training step, run at module level.
import joblib
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

df_test_and_valid_modified = pd.read_pickle("/data/df_test_and_valid_modified.pkl")

X_train = df_test_and_valid_modified.drop("SalePrice", axis=1)
y_train = df_test_and_valid_modified["SalePrice"]

ideal_model = RandomForestRegressor(n_estimators=40, min_samples_leaf=1, max_features=0.5,
                                    n_jobs=-1, max_samples=None, random_state=42)
ideal_model.fit(X_train, y_train)
joblib.dump(ideal_model, "/data/ideal_model.joblib")
