"""The brief's scikit-learn script, unchanged except for the data path and the last lines.

It uses the W&B API. Run it under `git exp run --wandb`, and `import wandb` gets
git-exp's W&B shim: the run is recorded in the repository and nothing goes to W&B.

    git exp run --wandb -- python examples/sklearn_random_forest/train_wandb.py
"""

import os

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
import wandb

def complex_machine_learning_algorithm(data_path, project_name):
    ## Load mock data
    data = pd.read_csv(data_path)

    ## Split data into features and target
    X = data.drop('target', axis=1)
    y = data['target']

    ## Split data into training and testing sets
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    ## Initialize Weights & Biases run
    wandb.init(project=project_name, entity='your_entity_name')

    ## Define and train the model
    model = RandomForestClassifier(n_estimators=100, random_state=42)
    model.fit(X_train, y_train)

    ## Make predictions
    y_pred = model.predict(X_test)

    ## Calculate accuracy
    accuracy = accuracy_score(y_test, y_pred)

    ## Log metrics to Weights & Biases
    wandb.log({"accuracy": accuracy})

    ## Finish the run
    wandb.finish()

    return model


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    complex_machine_learning_algorithm(
        os.path.join(here, "..", "..", "fixtures", "data", "classification.csv"), "git-exp-examples"
    )
