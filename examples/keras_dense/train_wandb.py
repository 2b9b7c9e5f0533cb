"""The brief's Keras script, unchanged except for the data path and the last lines.

It uses the W&B API and `tf.keras`, so it needs TensorFlow. Run it under
`git exp run --wandb`, and `import wandb` gets git-exp's W&B shim: the run is recorded
in the repository and nothing goes to W&B.

    git exp run --wandb -- python examples/keras_dense/train_wandb.py
"""

import os

import pandas as pd
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split
import wandb

def complex_deep_learning_algorithm(data_path, project_name):
    ## Load mock data
    data = pd.read_csv(data_path)

    ## Split data into features and target
    X = data.drop('target', axis=1)
    y = data['target']

    ## Split data into training and testing sets
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    ## Initialize Weights & Biases run
    wandb.init(project=project_name, entity='your_entity_name')

    ## Define the deep learning model
    model = tf.keras.models.Sequential([
        tf.keras.layers.Dense(64, activation='relu', input_shape=(X_train.shape[1],)),
        tf.keras.layers.Dense(64, activation='relu'),
        tf.keras.layers.Dense(1, activation='sigmoid')
    ])

    ## Compile the model
    model.compile(optimizer='adam',
                  loss='binary_crossentropy',
                  metrics=['accuracy'])

    ## Train the model
    model.fit(X_train, y_train, epochs=10, batch_size=32, validation_data=(X_test, y_test))

    ## Evaluate the model
    _, accuracy = model.evaluate(X_test, y_test)

    ## Log metrics to Weights & Biases
    wandb.log({"accuracy": accuracy})

    ## Finish the run
    wandb.finish()

    return model


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    complex_deep_learning_algorithm(
        os.path.join(here, "..", "..", "fixtures", "data", "classification.csv"), "git-exp-examples"
    )
