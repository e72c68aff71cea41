/**
 * The README an exported adapter folder carries: how to load it in PyTorch, with this export's own
 * paths, so the instructions travel with the files (installed packages hold no docs/ folder).
 */
export function adapterReadme(folder: string, baseModel: string, hasProjection: boolean): string {
  const q = JSON.stringify;
  const projection = hasProjection
    ? `
class Projection(torch.nn.Module):                                # hidden state -> next latent input
    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(d, d), torch.nn.Linear(d, d)
        self.norm = torch.nn.LayerNorm(d, eps=1e-5)
    def forward(self, h):
        return self.norm(self.fc2(torch.nn.functional.gelu(self.fc1(h))))

projection = Projection(base.config.hidden_size)
projection.load_state_dict(load_file(${q(`${folder}/latent_projection.safetensors`)}))
`
    : '';
  return `# A KaVa LoRA adapter

Written by \`kava export\`. Files:

| file | what |
|---|---|
| \`adapter_config.json\`, \`adapter_model.safetensors\` | the LoRA adapter with PEFT's key names; \`base_model_name_or_path\` is the model directory the run trained from; the embedding table (and an untied head) grown by the added tokens, as PEFT \`modules_to_save\` |
| \`tokenizer.json\`, \`tokenizer_config.json\` | the base tokenizer with \`<bot>\`, \`<eot>\` and \`<latent>\` added |
${hasProjection ? '| `latent_projection.safetensors` | the latent projection in `torch.nn` layout: `fc1`, `fc2` (`Linear`, weight `[out, in]`), `norm` (`LayerNorm`, eps 1e-5) |\n' : ''}| \`kava_latent.json\` | what latent inference needs besides weights: M (\`latents\`), T (\`iterations\`), the mode, the token ids, \`vocabRows\`, the sequence layout and how latent inputs are formed |

## Loading it in PyTorch (transformers, peft, safetensors)

\`\`\`python
import json, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel
from safetensors.torch import load_file

settings = json.load(open(${q(`${folder}/kava_latent.json`)}))
tokenizer = AutoTokenizer.from_pretrained(${q(folder)})
base = AutoModelForCausalLM.from_pretrained(${q(baseModel)})   # base_model_name_or_path
base.resize_token_embeddings(settings["vocabRows"])              # rows for <bot>, <eot>, <latent>
model = PeftModel.from_pretrained(base, ${q(folder)}).eval()
${projection}\`\`\`

Paths are as they were at export time; change them if you move the folders.
`;
}
