"""Receptive fields page (placeholder until the real page lands)."""

import streamlit as st

st.title("Receptive fields")
st.info("Coming soon: find which input pixels a neuron deep in the network can actually see.")
