# Minimal reproduction of a detection fork's GPU image (see SOURCES.md).
FROM nvidia/cuda:10.1-devel-ubuntu18.04

ENV PATH=/usr/local/cuda/bin:$PATH
RUN apt-get update
RUN apt-get install -y git python3 python3-pip wget

RUN wget https://repo.continuum.io/archive/Anaconda3-5.0.1-Linux-x86_64.sh
RUN bash Anaconda3-5.0.1-Linux-x86_64.sh -b && rm Anaconda3-5.0.1-Linux-x86_64.sh
ENV PATH=/root/anaconda3/bin:$PATH
RUN conda create -y --name py36 python=3.6.7

RUN pip install ninja
RUN pip install yacs
RUN pip install opencv-python
RUN pip install numpy==1.19.5

# Install PyTorch
RUN conda install pytorch torchvision cudatoolkit=10.1 -c pytorch

# Install pycocotools
RUN pip install -U 'git+https://github.com/cocodataset/cocoapi.git#subdirectory=PythonAPI'

RUN git clone https://github.com/facebookresearch/detectron2.git
RUN python -m pip install -e detectron2

WORKDIR /fcos
