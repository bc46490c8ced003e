"""Caption statistics: counts, lengths, top words and vocabulary, before and after preprocessing; save the captions."""

import streamlit as st

from rsic_core.text import stats as cs
from rsic_core.text.preprocess import PreprocessConfig
from ui import caption_sets, preprocess_cache, state

st.title("Caption statistics")
dataset = state.dataset_or_stop()
st.caption(f"{dataset.name}: {len(dataset)} images, {dataset.num_captions} captions")

with st.expander("Preprocessing settings", expanded=False):
    c1, c2, c3 = st.columns(3)
    min_words = c1.number_input("Min words", 1, 100, 5, key="statistics_min_words")
    max_words = c2.number_input("Max words", 1, 200, 20, key="statistics_max_words")
    use_synonyms = c3.toggle("Synonym mapping", value=True, key="statistics_synonyms")
try:
    config = PreprocessConfig(len_min_words=int(min_words), len_max_words=int(max_words), synonyms=use_synonyms)
    result = preprocess_cache.preprocessed(state.dataset_path(), config)
except ValueError as e:
    st.error(str(e))
    st.stop()
for step in result.steps:
    for note in step.notes:
        st.info(f"{step.name}: {note}")

st.dataframe(cs.steps_table(result), hide_index=True, width="stretch")
if result.sentencepiece is not None:
    with st.expander(f"SentencePiece pieces ({result.sentencepiece.vocab_size} in the vocabulary)"):
        st.dataframe(cs.sentencepiece_examples(result), hide_index=True, width="stretch")

counts = cs.counts_by_split_source(dataset)
left, right = st.columns([2, 3])
left.dataframe(counts, hide_index=True, width="stretch")
right.plotly_chart(cs.counts_figure(counts), width="stretch")

captions = cs.captions_of(dataset)
stages = cs.result_stages(captions, result)
st.subheader("Vocabulary")
st.dataframe(cs.vocabulary_table(stages), hide_index=True, width="stretch")

before, after = st.columns(2)
with before:
    st.subheader("Before")
    st.plotly_chart(cs.length_histogram(cs.length_frame({"before": captions}), min_words, max_words), width="stretch")
    st.dataframe(cs.top_tokens(result.before_synonyms), hide_index=True, width="stretch")
with after:
    st.subheader("After")
    st.plotly_chart(
        cs.length_histogram(cs.length_frame({"after": result.captions}), min_words, max_words), width="stretch"
    )
    st.dataframe(cs.top_tokens(result.captions), hide_index=True, width="stretch")
st.caption("Top words: before = after the length filter, entering the synonym step; after = final captions.")

st.subheader("Duplicate references")
duplicates = cs.duplicate_references(dataset)
st.write(
    f"{len(duplicates)} of {len(dataset)} images repeat a reference ({int(duplicates['duplicates'].sum())} duplicates)."
)
if len(duplicates):
    st.dataframe(duplicates, hide_index=True, width="stretch")
st.subheader("Guard")
(st.success if result.guard.ok else st.error)(result.guard.summary())
caption_sets.save_control("statistics", dataset, config, lambda: result)
