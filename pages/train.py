"""Train: start a LoRA run in its own process, follow its loss and validation scores, cancel it."""

import pandas as pd
import streamlit as st

from rsic_core.training import jobs
from ui import state, train_cache

st.title("Train a LoRA adapter")
defaults = train_cache.default_config()
with st.form("train_form", enter_to_submit=False):  # Enter in a field must not start a run
    c1, c2, c3, c4 = st.columns(4)
    config = {
        "model": c1.text_input(
            "Model", defaults["model"], help="Folder or Hugging Face id; 'demo' = the offline demo model."
        ),
        "name": c2.text_input("Run name", defaults["name"]),
        "lora_targets": c3.text_input(
            "LoRA targets", defaults["lora_targets"], help="default, all-linear, language-only or q_proj,v_proj"
        ),
        "precision": c4.selectbox(
            "Precision", ["auto", "bf16", "fp16", "fp32"], help="auto: bf16/fp16 on GPU, fp32 on CPU"
        ),
        "lora_r": c1.number_input("LoRA rank r", 1, 256, defaults["lora_r"]),
        "lora_alpha": c2.number_input("LoRA alpha", 1, 512, defaults["lora_alpha"]),
        "lora_dropout": c3.number_input("LoRA dropout", 0.0, 0.9, defaults["lora_dropout"], 0.05),
        "learning_rate": c4.number_input("Learning rate", 1e-7, 1.0, defaults["learning_rate"], format="%.1e"),
        "per_device_train_batch_size": c1.number_input(
            "Batch per device", 1, 512, defaults["per_device_train_batch_size"]
        ),
        "gradient_accumulation_steps": c2.number_input(
            "Gradient accumulation", 1, 256, defaults["gradient_accumulation_steps"]
        ),
        "max_steps": c3.number_input("Max steps (-1: use epochs)", -1, 10**6, defaults["max_steps"]),
        "num_train_epochs": c4.number_input("Epochs", 0.0, 100.0, defaults["num_train_epochs"]),
        "eval_steps": c1.number_input("Validate every N steps (0: never)", 0, 10**6, defaults["eval_steps"]),
        "eval_limit": c2.number_input("Validation images", 1, 10**5, defaults["eval_limit"]),
        "seed": c3.number_input("Seed", 0, 2**31 - 1, defaults["seed"]),
        "report_to": c4.selectbox("Report to", ["none", "tensorboard", "wandb", "mlflow"]),
    }
    started = st.form_submit_button("Start training", type="primary")
if started:
    try:
        st.session_state["train_run"] = str(jobs.start({**config, "data": state.dataset_path()}))
    except ValueError as e:
        st.error(str(e))

past = jobs.training_runs()
if not past:
    st.info("No training run yet: fill in the form and press Start training (or run `rsic train` in a terminal).")
    st.stop()
names = [str(p) for p in past]
chosen = st.selectbox(
    "Run",
    names,
    index=names.index(st.session_state["train_run"]) if st.session_state.get("train_run") in names else 0,
    format_func=lambda p: p.rsplit("/", 1)[-1],
)


@st.fragment(run_every=2)
def live(run_dir: str) -> None:
    view = train_cache.run_view(run_dir)
    st.markdown(f"**{view['state']}**: {view['message']}")
    st.progress(view["fraction"], text=f"step {view['step']} of {view['max_steps'] or '?'}")
    if view["state"] in jobs.ACTIVE and st.button("Cancel run", key=f"cancel-{run_dir}"):
        jobs.cancel(run_dir)
        st.toast("Cancelling: the run stops after this step and saves a checkpoint.")
    if not view["log"].empty:
        st.line_chart(view["log"], x="step", y="loss", height=260)
    if not view["validation"].empty:
        st.markdown("Validation scores (x100)")
        st.dataframe(view["validation"], hide_index=True)
    st.subheader("Training runs")  # inside the fragment: states follow status.json without a page reload
    st.dataframe(pd.DataFrame(train_cache.runs_overview(jobs.training_runs())), hide_index=True)


live(chosen)
st.page_link("pages/compare.py", label="Compare predictions of finished runs", icon=":material/compare:")
