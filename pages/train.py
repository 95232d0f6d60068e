"""Train page (placeholder until the real page lands)."""

import streamlit as st

st.title("Train")
st.info("Coming soon: train a small neural network on MNIST and watch the loss and accuracy move.")
