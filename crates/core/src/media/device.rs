//! Where speech is recognised: this computer's processor, or a GPU.
//!
//! The app's own binaries carry a CPU build of whisper.cpp, which starts on any machine
//! and needs no driver. A GPU build is a program of its own beside them
//! (`video2doc-whisper-vulkan`, `-metal` or `-cuda`, from `crates/gpu`), the same
//! transcription worker built with one of whisper.cpp's GPU backends. This module owns:
//!
//! - the device setting (`auto`, `cpu`, `gpu`);
//! - the survey: which GPU workers are installed and which devices each can use. Each
//!   worker lists its devices in its own process (`WORKER devices`), so a driver that
//!   hangs or crashes while being asked takes only that process down;
//! - the choice for a job ([`place`]): `auto` takes a real GPU with room for the model,
//!   never a software renderer; `gpu` takes the best device found, a software one too;
//! - a job's GPU run ([`GpuRun`]): the first failure of the GPU worker (a driver error,
//!   out of memory, a crash) is kept, and the rest of the job runs on the CPU;
//! - the GPU worker's entry point ([`gpu_worker_main`], built with a GPU feature only).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where to transcribe, as a person chooses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceSetting {
    /// A GPU when one is usable and has room for the model, else the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
    /// The GPU found, even a software one; the CPU (with a note) when there is none.
    Gpu,
}

impl std::str::FromStr for DeviceSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceSetting::Auto),
            "cpu" => Ok(DeviceSetting::Cpu),
            "gpu" => Ok(DeviceSetting::Gpu),
            other => Err(format!("{other:?} is not a device: use auto, cpu or gpu")),
        }
    }
}

impl std::fmt::Display for DeviceSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceSetting::Auto => "auto",
            DeviceSetting::Cpu => "cpu",
            DeviceSetting::Gpu => "gpu",
        })
    }
}

/// What kind of device a GPU is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A graphics card of its own.
    Discrete,
    /// A GPU sharing the processor's memory (most laptops, Apple silicon).
    Integrated,
    /// A virtual machine's GPU.
    Virtual,
    /// Another kind the driver does not say.
    Other,
    /// A software renderer on the processor (Mesa's lavapipe): slower than the CPU
    /// build, so `auto` never takes it.
    Software,
}

/// A device a GPU worker can run on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuDevice {
    /// The worker's backend: `vulkan`, `metal` or `cuda`.
    pub backend: String,
    /// The device's number in its backend (what the worker's `--device` takes).
    pub index: u32,
    pub name: String,
    pub kind: DeviceKind,
    /// The device's own memory (for an integrated GPU, what it may use of the shared).
    pub memory_mib: u64,
    /// What is free now, when the driver says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_mib: Option<u64>,
}

impl GpuDevice {
    /// How reports name it: `vulkan: NVIDIA GeForce RTX 3060`.
    pub fn label(&self) -> String {
        format!("{}: {}", self.backend, self.name)
    }

    /// The memory it has for a model now.
    fn room_mib(&self) -> u64 {
        self.free_mib.unwrap_or(self.memory_mib)
    }
}

/// A GPU worker program found on this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuWorker {
    pub backend: String,
    pub program: PathBuf,
}

/// The GPU workers installed and the devices they found, with what went wrong asking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub workers: Vec<GpuWorker>,
    pub devices: Vec<GpuDevice>,
    /// Why a worker found nothing: no driver, a driver that failed, a program that
    /// could not start.
    pub problems: Vec<String>,
}

/// Overrides where the GPU worker is looked for: a program's path (for a build of one's
/// own, and the tests). Otherwise the workers are looked for beside the running program.
pub const WORKER_ENV: &str = "VIDEO2DOC_GPU_WORKER";

/// The GPU workers' file names, in the order `auto` prefers them.
const WORKERS: [(&str, &str); 3] = [
    ("cuda", "video2doc-whisper-cuda"),
    ("metal", "video2doc-whisper-metal"),
    ("vulkan", "video2doc-whisper-vulkan"),
];

/// How long a worker may take to list its devices (a driver that hangs is given up on).
const SURVEY_WAIT: Duration = Duration::from_secs(30);

/// The GPU workers on this machine: the one [`WORKER_ENV`] names, else those installed
/// beside the running program.
pub fn find_workers() -> Vec<GpuWorker> {
    let backend_of = |program: &Path| {
        let name = program
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        WORKERS
            .iter()
            .find(|(_, file)| name == *file)
            .map(|(backend, _)| backend.to_string())
            .unwrap_or_else(|| "gpu".into())
    };
    if let Some(p) = std::env::var_os(WORKER_ENV).filter(|p| !p.is_empty()) {
        let program = PathBuf::from(p);
        return vec![GpuWorker {
            backend: backend_of(&program),
            program,
        }];
    }
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    WORKERS
        .iter()
        .map(|(backend, file)| GpuWorker {
            backend: backend.to_string(),
            program: dir.join(format!("{file}{}", std::env::consts::EXE_SUFFIX)),
        })
        .filter(|w| w.program.is_file())
        .collect()
}

/// What a worker prints for `devices`.
#[derive(Debug, Serialize, Deserialize)]
struct Listing {
    backend: String,
    #[serde(default)]
    devices: Vec<GpuDevice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Asks every GPU worker for its devices (each in its own process).
pub fn survey_now() -> Survey {
    let workers = find_workers();
    let mut survey = Survey {
        workers: workers.clone(),
        ..Survey::default()
    };
    for w in &workers {
        let out = crate::media::process::worker_output(&w.program, &["devices"], SURVEY_WAIT);
        let listing = out.and_then(|bytes| {
            serde_json::from_slice::<Listing>(&bytes).map_err(|e| {
                crate::media::process::ProcessError::Worker {
                    message: format!("it printed no device list ({e})"),
                }
            })
        });
        match listing {
            Ok(l) => {
                if let Some(e) = l.error {
                    survey
                        .problems
                        .push(format!("{}: {e}", w.program.display()));
                }
                survey.devices.extend(l.devices);
            }
            Err(e) => survey
                .problems
                .push(format!("{}: {e}", w.program.display())),
        }
    }
    survey
}

/// The survey, taken once per run of the program (devices rarely come and go; a job
/// whose device went is moved to the CPU by [`GpuRun`]).
pub fn survey() -> Survey {
    static SURVEY: Mutex<Option<Survey>> = Mutex::new(None);
    let mut cached = SURVEY.lock().unwrap_or_else(|p| p.into_inner());
    cached.get_or_insert_with(survey_now).clone()
}

/// Where a job's speech is recognised.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// On the processor; `note` says why not on a GPU when one was asked for or may
    /// have been expected.
    Cpu {
        note: Option<String>,
    },
    Gpu(GpuPlan),
}

/// A GPU worker and the device it is to use.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuPlan {
    pub program: PathBuf,
    pub device: GpuDevice,
}

impl GpuPlan {
    /// The worker's arguments: the device to use.
    pub fn args(&self) -> Vec<String> {
        vec!["--device".into(), self.device.index.to_string()]
    }
}

impl Placement {
    /// How reports name it: `cpu`, or the device's [`GpuDevice::label`].
    pub fn label(&self) -> String {
        match self {
            Placement::Cpu { .. } => "cpu".into(),
            Placement::Gpu(g) => g.device.label(),
        }
    }
}

/// The memory a model needs on a device: its weights, and whisper.cpp's buffers (the
/// key/value caches and the encoder's and decoder's work), about a quarter more and a
/// fixed part.
pub fn need_mib(model: &Path) -> u64 {
    let weights = std::fs::metadata(model).map(|m| m.len()).unwrap_or(0) >> 20;
    weights + weights / 4 + 256
}

/// Where to transcribe with `model`, as `setting` asks, on the devices `survey` found.
pub fn place_on(setting: DeviceSetting, model: &Path, survey: &Survey) -> Placement {
    if setting == DeviceSetting::Cpu {
        return Placement::Cpu { note: None };
    }
    let need = need_mib(model);
    let mut devices: Vec<&GpuDevice> = survey.devices.iter().collect();
    devices.sort_by_key(|d| (d.kind, std::cmp::Reverse(d.room_mib())));
    let usable = |d: &GpuDevice| {
        (setting == DeviceSetting::Gpu || d.kind != DeviceKind::Software) && d.room_mib() >= need
    };
    let program = |d: &GpuDevice| {
        survey
            .workers
            .iter()
            .find(|w| w.backend == d.backend)
            .or(survey.workers.first())
            .map(|w| w.program.clone())
    };
    if let Some((d, p)) = devices
        .iter()
        .filter(|d| usable(d))
        .find_map(|d| program(d).map(|p| (*d, p)))
    {
        return Placement::Gpu(GpuPlan {
            program: p,
            device: d.clone(),
        });
    }
    let why = if survey.workers.is_empty() {
        "no GPU build of the transcription is installed beside Video2Doc".to_string()
    } else if devices.is_empty() {
        let problems = if survey.problems.is_empty() {
            "the driver lists none".to_string()
        } else {
            survey.problems.join("; ")
        };
        format!("no GPU was found ({problems})")
    } else {
        let seen: Vec<String> = devices
            .iter()
            .map(|d| {
                if d.room_mib() < need {
                    format!(
                        "{} has {} MiB free, the model needs about {need} MiB",
                        d.label(),
                        d.room_mib()
                    )
                } else {
                    format!(
                        "{} is a software renderer, slower than the CPU (choose device gpu to use it)",
                        d.label()
                    )
                }
            })
            .collect();
        format!("no usable GPU: {}", seen.join("; "))
    };
    // `auto` on a machine without any GPU build is the ordinary case, not news.
    let note = (setting == DeviceSetting::Gpu || !survey.workers.is_empty())
        .then(|| format!("transcribed on the CPU: {why}"));
    Placement::Cpu { note }
}

/// Where to transcribe with `model` on this machine, as `setting` asks.
pub fn place(setting: DeviceSetting, model: &Path) -> Placement {
    if setting == DeviceSetting::Cpu {
        return Placement::Cpu { note: None };
    }
    place_on(setting, model, &survey())
}

/// A job's transcription on a GPU: the plan, and the first failure, after which the
/// rest of the job runs on the CPU.
#[derive(Debug)]
pub struct GpuRun {
    pub plan: GpuPlan,
    failure: Mutex<Option<String>>,
}

impl GpuRun {
    pub fn new(plan: GpuPlan) -> GpuRun {
        GpuRun {
            plan,
            failure: Mutex::new(None),
        }
    }

    /// Whether the GPU is still to be used.
    pub fn usable(&self) -> bool {
        self.failure().is_none()
    }

    /// Records why the GPU failed; later chunks go to the CPU.
    pub fn fail(&self, why: String) {
        tracing::warn!(device = %self.plan.device.label(), reason = %why, "the GPU failed; transcribing on the CPU");
        let mut f = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        f.get_or_insert(why);
    }

    /// Why the GPU failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The device's label while the GPU holds; `cpu` after it failed.
    pub fn label(&self) -> String {
        match self.failure() {
            None => self.plan.device.label(),
            Some(_) => "cpu".into(),
        }
    }
}

/// The backend this build of the worker carries.
#[cfg(feature = "cuda")]
pub const BACKEND: &str = "cuda";
#[cfg(all(feature = "metal", not(feature = "cuda")))]
pub const BACKEND: &str = "metal";
#[cfg(all(feature = "vulkan", not(any(feature = "cuda", feature = "metal"))))]
pub const BACKEND: &str = "vulkan";

/// The GPU worker's entry point: `devices` prints the devices it can use as JSON;
/// otherwise `--device N` chooses the device (before whisper.cpp starts its backend)
/// and the rest is the transcription worker ([`crate::media::transcribe::worker_main`]).
#[cfg(any(feature = "vulkan", feature = "metal", feature = "cuda"))]
pub fn gpu_worker_main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("devices") {
        let listing = match own_devices() {
            Ok(devices) => Listing {
                backend: BACKEND.into(),
                devices,
                error: None,
            },
            Err(e) => Listing {
                backend: BACKEND.into(),
                devices: Vec::new(),
                error: Some(e),
            },
        };
        println!(
            "{}",
            serde_json::to_string(&listing).expect("listings serialize")
        );
        return 0;
    }
    if let Some(i) = args.iter().position(|a| a == "--device") {
        let Some(index) = args.get(i + 1).and_then(|n| n.parse::<u32>().ok()) else {
            eprintln!("--device takes a device number (see `devices`)");
            return 2;
        };
        // Only this backend's devices, and only the one chosen, are visible to
        // whisper.cpp: it then takes that one. Set before any other thread starts.
        let var = match BACKEND {
            "vulkan" => Some("GGML_VK_VISIBLE_DEVICES"),
            "cuda" => Some("CUDA_VISIBLE_DEVICES"),
            _ => None,
        };
        if let Some(var) = var {
            std::env::set_var(var, index.to_string());
        }
    }
    crate::media::transcribe::worker_main()
}

/// The devices of the Vulkan driver(s), software ones too (whisper.cpp's own list
/// leaves those out unless they are named).
#[cfg(feature = "vulkan")]
fn own_devices() -> Result<Vec<GpuDevice>, String> {
    use ash::vk;
    let entry = ash::Entry::linked();
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_2);
    let info = vk::InstanceCreateInfo::default().application_info(&app);
    // SAFETY: the create info and what it points to live across the call; the instance
    // is destroyed below and no object made from it outlives it.
    let instance = unsafe { entry.create_instance(&info, None) }.map_err(|e| match e {
        vk::Result::ERROR_INCOMPATIBLE_DRIVER => {
            "no Vulkan driver is installed for any device".to_string()
        }
        e => format!("the Vulkan driver could not start ({e})"),
    })?;
    // SAFETY: the instance is alive until destroyed at the end of this function.
    let found = unsafe { instance.enumerate_physical_devices() };
    let mut out = Vec::new();
    for (index, pd) in found.unwrap_or_default().into_iter().enumerate() {
        // SAFETY: `pd` comes from this instance, which is alive.
        let (props, memory, budget) = unsafe {
            let props = instance.get_physical_device_properties(pd);
            let exts = instance
                .enumerate_device_extension_properties(pd)
                .unwrap_or_default();
            let has_budget = exts.iter().any(|e| {
                e.extension_name_as_c_str()
                    .is_ok_and(|n| n == ash::ext::memory_budget::NAME)
            });
            let mut budget = vk::PhysicalDeviceMemoryBudgetPropertiesEXT::default();
            let mut memory = vk::PhysicalDeviceMemoryProperties2::default();
            if has_budget {
                memory = memory.push_next(&mut budget);
            }
            instance.get_physical_device_memory_properties2(pd, &mut memory);
            let memory = memory.memory_properties;
            (props, memory, has_budget.then_some(budget))
        };
        let heaps = &memory.memory_heaps[..memory.memory_heap_count as usize];
        let local: Vec<usize> = (0..heaps.len())
            .filter(|&i| heaps[i].flags.contains(vk::MemoryHeapFlags::DEVICE_LOCAL))
            .collect();
        let memory_mib = local.iter().map(|&i| heaps[i].size).sum::<u64>() >> 20;
        let free_mib = budget.map(|b| {
            local
                .iter()
                .map(|&i| b.heap_budget[i].saturating_sub(b.heap_usage[i]))
                .sum::<u64>()
                >> 20
        });
        let kind = match props.device_type {
            vk::PhysicalDeviceType::DISCRETE_GPU => DeviceKind::Discrete,
            vk::PhysicalDeviceType::INTEGRATED_GPU => DeviceKind::Integrated,
            vk::PhysicalDeviceType::VIRTUAL_GPU => DeviceKind::Virtual,
            vk::PhysicalDeviceType::CPU => DeviceKind::Software,
            _ => DeviceKind::Other,
        };
        out.push(GpuDevice {
            backend: BACKEND.into(),
            index: index as u32,
            name: props
                .device_name_as_c_str()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|_| format!("device {index}")),
            kind,
            memory_mib,
            free_mib,
        });
    }
    // SAFETY: nothing made from the instance is alive any more.
    unsafe { instance.destroy_instance(None) };
    Ok(out)
}

/// The devices whisper.cpp's backend lists (Metal, CUDA).
#[cfg(all(any(feature = "metal", feature = "cuda"), not(feature = "vulkan")))]
fn own_devices() -> Result<Vec<GpuDevice>, String> {
    Ok(ggml_devices()
        .into_iter()
        .enumerate()
        .map(|(index, d)| GpuDevice {
            backend: BACKEND.into(),
            index: index as u32,
            name: d.description,
            kind: if d.integrated {
                DeviceKind::Integrated
            } else {
                DeviceKind::Discrete
            },
            memory_mib: d.total >> 20,
            free_mib: Some(d.free >> 20),
        })
        .collect())
}

/// A GPU as whisper.cpp's ggml sees it.
#[cfg(any(feature = "vulkan", feature = "metal", feature = "cuda"))]
pub(crate) struct GgmlDevice {
    pub description: String,
    pub integrated: bool,
    pub total: u64,
    pub free: u64,
}

/// The GPUs ggml can use in this process (after `--device` narrowed them), each one
/// started and stopped once: whisper.cpp would otherwise fall back to the CPU in
/// silence when a device does not start.
#[cfg(any(feature = "vulkan", feature = "metal", feature = "cuda"))]
pub(crate) fn ggml_devices() -> Vec<GgmlDevice> {
    use whisper_rs_sys as g;
    let text = |p: *const std::os::raw::c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: ggml returns NUL-terminated strings it owns for the program's life.
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        }
    };
    let mut out = Vec::new();
    // SAFETY: ggml's device registry is initialised on first use and lives for the
    // program; every pointer used comes from it, and a backend started here is freed.
    unsafe {
        for i in 0..g::ggml_backend_dev_count() {
            let dev = g::ggml_backend_dev_get(i);
            let t = g::ggml_backend_dev_type(dev);
            let gpu = t == g::ggml_backend_dev_type_GGML_BACKEND_DEVICE_TYPE_GPU;
            let igpu = t == g::ggml_backend_dev_type_GGML_BACKEND_DEVICE_TYPE_IGPU;
            if !(gpu || igpu) {
                continue;
            }
            let backend = g::ggml_backend_dev_init(dev, std::ptr::null());
            if backend.is_null() {
                continue;
            }
            g::ggml_backend_free(backend);
            let (mut free, mut total) = (0usize, 0usize);
            g::ggml_backend_dev_memory(dev, &mut free, &mut total);
            out.push(GgmlDevice {
                description: text(g::ggml_backend_dev_description(dev)),
                integrated: igpu,
                total: total as u64,
                free: free as u64,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(index: u32, name: &str, kind: DeviceKind, memory_mib: u64) -> GpuDevice {
        GpuDevice {
            backend: "vulkan".into(),
            index,
            name: name.into(),
            kind,
            memory_mib,
            free_mib: None,
        }
    }

    fn survey(devices: Vec<GpuDevice>) -> Survey {
        Survey {
            workers: vec![GpuWorker {
                backend: "vulkan".into(),
                program: "/opt/v2d/video2doc-whisper-vulkan".into(),
            }],
            devices,
            problems: Vec::new(),
        }
    }

    #[test]
    fn auto_takes_the_real_gpu_with_room_and_never_a_software_one() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("ggml-small.bin");
        std::fs::write(&model, vec![0u8; 3 << 20]).unwrap();
        let s = survey(vec![
            device(0, "llvmpipe", DeviceKind::Software, 24_000),
            device(1, "Intel Iris Xe", DeviceKind::Integrated, 8_000),
            device(2, "RTX 3060", DeviceKind::Discrete, 12_000),
        ]);
        let Placement::Gpu(p) = place_on(DeviceSetting::Auto, &model, &s) else {
            panic!("a GPU was usable");
        };
        assert_eq!(p.device.name, "RTX 3060");
        assert_eq!(p.args(), ["--device", "2"]);
        // Only a software renderer: the CPU for auto, with the reason; gpu takes it.
        let soft = survey(vec![device(0, "llvmpipe", DeviceKind::Software, 24_000)]);
        let Placement::Cpu { note: Some(n) } = place_on(DeviceSetting::Auto, &model, &soft) else {
            panic!("auto never takes a software renderer");
        };
        assert!(n.contains("llvmpipe") && n.contains("software"), "{n}");
        assert!(matches!(
            place_on(DeviceSetting::Gpu, &model, &soft),
            Placement::Gpu(p) if p.device.label() == "vulkan: llvmpipe"
        ));
        assert_eq!(
            place_on(DeviceSetting::Cpu, &model, &s),
            Placement::Cpu { note: None }
        );
    }

    #[test]
    fn a_gpu_without_room_for_the_model_is_passed_over_with_the_figures() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("ggml-large.bin");
        std::fs::File::create(&model)
            .unwrap()
            .set_len(1_500 << 20)
            .unwrap();
        let mut small = device(0, "GT 710", DeviceKind::Discrete, 2_048);
        small.free_mib = Some(1_200);
        let Placement::Cpu { note: Some(n) } =
            place_on(DeviceSetting::Auto, &model, &survey(vec![small]))
        else {
            panic!("the model does not fit");
        };
        assert!(n.contains("1200 MiB free") && n.contains("2131 MiB"), "{n}");
    }

    #[test]
    fn no_driver_and_no_worker_are_said_only_when_they_matter() {
        let model = Path::new("/nonexistent/ggml-tiny.bin");
        let mut none = survey(Vec::new());
        none.problems
            .push("video2doc-whisper-vulkan: no Vulkan driver is installed for any device".into());
        let Placement::Cpu { note: Some(n) } = place_on(DeviceSetting::Auto, model, &none) else {
            panic!("no device");
        };
        assert!(n.contains("no Vulkan driver"), "{n}");
        let bare = Survey::default();
        assert_eq!(
            place_on(DeviceSetting::Auto, model, &bare),
            Placement::Cpu { note: None }
        );
        let Placement::Cpu { note: Some(n) } = place_on(DeviceSetting::Gpu, model, &bare) else {
            panic!("gpu was asked for");
        };
        assert!(n.contains("no GPU build"), "{n}");
    }

    #[test]
    fn the_setting_reads_and_writes_its_three_words() {
        for s in ["auto", "cpu", "gpu"] {
            assert_eq!(s.parse::<DeviceSetting>().unwrap().to_string(), s);
        }
        assert_eq!(" GPU ".parse::<DeviceSetting>(), Ok(DeviceSetting::Gpu));
        assert!("cuda"
            .parse::<DeviceSetting>()
            .unwrap_err()
            .contains("auto, cpu or gpu"));
    }

    #[test]
    fn a_failed_gpu_run_moves_the_rest_to_the_cpu_and_keeps_the_first_reason() {
        let run = GpuRun::new(GpuPlan {
            program: "/x".into(),
            device: device(0, "RTX", DeviceKind::Discrete, 8_000),
        });
        assert!(run.usable());
        assert_eq!(run.label(), "vulkan: RTX");
        run.fail("out of device memory".into());
        run.fail("later".into());
        assert!(!run.usable());
        assert_eq!(run.failure().as_deref(), Some("out of device memory"));
        assert_eq!(run.label(), "cpu");
    }
}
