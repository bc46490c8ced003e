"""Synonym clusters: the WordNet-checked mapping table, DBSCAN controls, a UMAP map, examples; save the captions."""

from dataclasses import replace

import streamlit as st

from rsic_core.text import stats as cs
from rsic_core.text.preprocess import PreprocessConfig
from rsic_core.text.synonyms import rewrite, word_examples
from ui import caption_sets, preprocess_cache, state

st.title("Synonym clusters")
dataset = state.dataset_or_stop()
config = PreprocessConfig()
c1, c2, c3 = st.columns([2, 2, 1])
eps = c1.slider("DBSCAN eps (cosine distance)", 0.05, 1.0, config.syn_eps, 0.05, key="synonyms_eps")
min_samples = c2.slider("DBSCAN min_samples", 1, 30, config.syn_min_samples, key="synonyms_min_samples")
keep_number = c3.toggle(
    "Keep plural and singular apart",
    value=config.syn_keep_number,
    key="synonyms_keep_number",
    wrap=True,  # in a column Streamlit cuts a long label short ("Keep plural and si...")
    help="On: 'many buildings' stays as it is. Off: plurals become singular, as in the RISC study ('many building').",
)
try:
    base = preprocess_cache.preprocessed(state.dataset_path(), config)
    result = preprocess_cache.reclustered(state.dataset_path(), config, eps, min_samples, keep_number)
except ValueError as e:
    st.error(str(e))
    st.stop()
for note in result.notes if result else ["the synonym step did not run"]:
    st.warning(note)
page_config = replace(config, syn_eps=float(eps), syn_min_samples=int(min_samples), syn_keep_number=keep_number)
caption_sets.save_control(
    "synonyms", dataset, page_config, lambda: preprocess_cache.preprocessed(state.dataset_path(), page_config)
)
if result is None or not result.words:
    st.stop()

applied = result.applied_map()
m = st.columns(4)
m[0].metric(
    "Words clustered",
    len(result.words),
    help="Content words of the kept captions: the vocabulary 'after length filter' on Caption statistics "
    "less its function words (a, the, of, beside...) and lone letters, which are not clustered.",
)
m[1].metric("Clusters", result.n_clusters)
m[2].metric("Noise words", int((result.labels == -1).sum()))
m[3].metric(
    "Merges applied",
    len(applied),
    help="Words rewritten in the captions: only where WordNet makes both words the same thing.",
)

st.subheader("Mapping table")
st.caption(
    "Applied merges first. A merge is applied only when WordNet makes the two words one: a synonym in "
    "the dominant sense of each (plane → airplane), a spelling variant (colour → color, a typo) or, with "
    "plural and singular not kept apart, a plural. The relation says why the others are refused: "
    "plural or singular (the same word, its number kept), other sense (one synset holds both, but not "
    "as their usual meaning: house/home), colour, antonym, hypernym, hyponym, co-hyponym, inflection."
)
search = st.text_input("Search a word", placeholder="e.g. building", key="synonyms_search").strip().lower()
only_applied = st.toggle("Applied merges only", value=False, key="synonyms_applied_only")
table = result.mapping
if search:
    table = table[table["variant"].str.contains(search) | table["canonical"].str.contains(search)]
if only_applied:
    table = table[table["applied"]]
st.dataframe(table, hide_index=True, width="stretch", height=320)

if result.embeddings.shape[1]:
    xy = preprocess_cache.projection(result.embeddings)
    options = sorted(applied) or result.words  # another eps brings other words: the choice starts afresh
    chosen = st.selectbox("Word", options=options, index=0, key=state.widget_key("synonyms_word", options))
    st.plotly_chart(
        cs.cluster_projection_figure(result.words, result.counts, result.labels, xy, chosen), width="stretch"
    )
    st.subheader(f"Captions with “{chosen}” before and after rewriting")
    if chosen in applied:
        st.write(f"`{chosen}` → `{applied[chosen]}`")
    after = rewrite(base.before_synonyms, applied)
    st.dataframe(word_examples(base.before_synonyms, after, chosen), hide_index=True, width="stretch")
