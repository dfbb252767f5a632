# Worker image for Dataflow: corpus-audit on Beam's Python SDK image, with a CUDA build of
# PyTorch for the toxicity stage on GPU workers (README, "Running on Dataflow").
#
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/corpus-audit-gpu:0.1.0 .
#   docker push REGION-docker.pkg.dev/PROJECT/REPO/corpus-audit-gpu:0.1.0
#
# CPU-only image (no toxicity on GPU; smaller):
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu -t .../corpus-audit:0.1.0 .
#
# The Beam version and Python minor version must match the launching machine's
# (`python -c "import apache_beam; print(apache_beam.__version__)"`): Dataflow refuses a
# mismatched SDK container.
ARG PYTHON_VERSION=3.11
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION}

ARG TORCH_VERSION=2.13.0
# A CUDA wheel index: the wheels bundle the CUDA runtime; the NVIDIA driver itself is
# installed on the VM by Dataflow ("install-nvidia-driver" in worker_accelerator).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128

# PyTorch first, from its own index, so that installing corpus-audit does not pull another build.
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"

WORKDIR /opt/corpus-audit
COPY pyproject.toml README.md ./
COPY corpus_audit ./corpus_audit
# Non-editable install; the Beam SDK already in the image satisfies apache-beam[gcp].
RUN pip install --no-cache-dir . \
    && python -c "import corpus_audit, torch, apache_beam, fasttext; print('corpus-audit image OK', apache_beam.__version__, torch.__version__)"

# Toxicity weights: workers have no Hugging Face hub access in many setups and the stage
# loads safetensors from a local directory. Put the model directory (config.json,
# tokenizer files, model.safetensors) in ./models before building and point the
# toxicity stage's model option at /opt/models/<name>. Uncomment:
# COPY models/ /opt/models/

# The Beam SDK harness is the entry point Dataflow expects.
ENTRYPOINT ["/opt/apache/beam/boot"]
